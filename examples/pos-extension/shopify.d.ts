// The `shopify` global of each module, by the target it renders: what the
// Shopify CLI generates for 2025-10 and later extensions.
import '@shopify/ui-extensions';

//@ts-ignore
declare module './src/Tile.tsx' {
  const shopify: import('@shopify/ui-extensions/pos.home.tile.render').Api;
  const globalThis: {shopify: typeof shopify};
}

//@ts-ignore
declare module './src/Modal.tsx' {
  const shopify: import('@shopify/ui-extensions/pos.home.modal.render').Api;
  const globalThis: {shopify: typeof shopify};
}

//@ts-ignore
declare module './src/Background.ts' {
  const shopify: import('@shopify/ui-extensions/pos.app.ready.data').Api &
    import('@shopify/ui-extensions/pos.app.ready.data').ShopifyGlobal;
  const globalThis: {shopify: typeof shopify};
}

// pos.home.modal.render: what the tile opens. It shows the session the
// backend verified and the shop as the backend read it from Shopify's
// Admin API with the shop's offline token: the whole chain, POS to
// backend to Shopify.
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {fetchShop, fetchVerifiedSession, type SessionResult} from './client.js';
import {BACKEND_URL} from './config.ts';

export default async () => {
  render(<Modal />, document.body);
};

type ShopResult = Awaited<ReturnType<typeof fetchShop>>;

function Modal() {
  const {shopId, userId, locationId, staffMemberId} = shopify.session.currentSession;
  const [session, setSession] = useState<SessionResult>();
  const [shop, setShop] = useState<ShopResult>();
  const [round, setRound] = useState(0);

  useEffect(() => {
    setSession(undefined);
    setShop(undefined);
    fetchVerifiedSession(BACKEND_URL, shopify.session).then(setSession);
    fetchShop(BACKEND_URL, shopify.session).then(setShop);
  }, [round]);

  return (
    <s-page heading="possession">
      <s-scroll-box>
        <s-section heading="POS reports">
          <s-text>
            shop {shopId}, user {userId}, location {locationId}, staff {staffMemberId ?? 'none'}
          </s-text>
        </s-section>
        <s-section heading="Verified by the backend">
          {session === undefined ? (
            <s-text>Asking the backend…</s-text>
          ) : session.ok ? (
            <s-text>
              {session.session.shop}, user {session.session.userId}, token expires {session.session.expiresAt}
              {session.retried ? ' (after a token refresh)' : ''}
            </s-text>
          ) : (
            <Failure result={session} />
          )}
        </s-section>
        <s-section heading="From Shopify's Admin API">
          {shop === undefined ? (
            <s-text>Asking the backend…</s-text>
          ) : shop.ok ? (
            <s-text>
              {shop.shop.name} ({shop.shop.myshopifyDomain}), currency {shop.shop.currencyCode}
            </s-text>
          ) : (
            <Failure result={shop} />
          )}
        </s-section>
        <s-button variant="secondary" onClick={() => setRound(round + 1)}>
          Ask again
        </s-button>
      </s-scroll-box>
    </s-page>
  );
}

function Failure({result}: {result: {reason: string; status?: number; error?: string; message?: string}}) {
  if (result.reason === 'no_token') {
    return <s-banner heading="No session token" tone="warning">Ask an admin to give your account access to this app.</s-banner>;
  }
  return (
    <s-banner heading={`Backend said no (${result.status ?? 'no answer'} ${result.error ?? ''})`} tone="critical">
      {result.message ?? ''}
    </s-banner>
  );
}

// pos.app.ready.data: runs for the whole POS session, without UI. Each
// completed sale, return or exchange (the transactioncomplete event) is
// written to the extension's storage and sent to the backend, which tags
// the order through the Admin API; what could not be sent (offline, or
// the backend down) is sent when POS is back online. POS may run a cached
// bundle offline, so the backend expects late and repeated deliveries.
import {startTransactionSync} from './client.js';
import {BACKEND_URL} from './config.ts';

export default async () => {
  startTransactionSync(shopify, BACKEND_URL);
};

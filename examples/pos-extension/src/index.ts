// The Session API seed extension, adapted: instead of printing the raw
// token, it sends it (with the current session as client hints) to the
// possession example backend and shows the session the backend verified.
import {
  Screen,
  ScrollView,
  Text,
  extension,
} from '@shopify/ui-extensions/point-of-sale';

import {fetchVerifiedSession} from './client.js';

// Your backend (examples/posbackend). POS only fetches over HTTPS, and the
// backend must allow the extension origins (its default).
const BACKEND_URL = 'https://pos-backend.example.com';

export default extension('pos.home.modal.render', (root, api) => {
  const {session} = api;
  const {shopId, userId, locationId, staffMemberId} = session.currentSession;

  const screen = root.createComponent(Screen, {
    name: 'VerifiedSession',
    title: 'Verified session',
  });
  const scroll = root.createComponent(ScrollView);

  const reported = root.createComponent(
    Text,
    {},
    `POS reports: shopId ${shopId}, userId ${userId}, locationId ${locationId}, staffId ${staffMemberId ?? 'none'}`,
  );
  const status = root.createComponent(Text, {}, 'Asking the backend...');

  scroll.appendChild(reported);
  scroll.appendChild(status);
  screen.appendChild(scroll);
  root.appendChild(screen);

  const show = (line: string) => {
    status.replaceChildren(line);
  };

  fetchVerifiedSession(BACKEND_URL, session).then((result) => {
    if (result.ok) {
      const s = result.session;
      show(
        `Verified: shop ${s.shop}, user ${s.userId}, expires ${s.expiresAt}` +
          (result.retried ? ' (after a token refresh)' : ''),
      );
    } else if (result.reason === 'no_token') {
      show('No session token: ask an admin to give your account access to this app.');
    } else {
      show(
        `Backend said no (${result.status ?? 'no answer'} ${result.error ?? ''}): ${result.message ?? ''}`,
      );
    }
  });
});

// pos.home.tile.render: the tile on POS's smart grid. It asks the backend
// to verify the session (so the tile says whether the app can act for
// this shop) and opens the modal when tapped.
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {fetchVerifiedSession} from './client.js';
import {BACKEND_URL} from './config.ts';

export default async () => {
  render(<Tile />, document.body);
};

function Tile() {
  const [status, setStatus] = useState('Connecting…');
  const [ok, setOk] = useState(false);

  useEffect(() => {
    fetchVerifiedSession(BACKEND_URL, shopify.session).then((r) => {
      setOk(r.ok);
      if (r.ok) setStatus('Backend verified this session');
      else if (r.reason === 'no_token') setStatus('No access: ask an admin');
      else setStatus(`Backend unreachable (${r.status ?? r.reason})`);
    });
  }, []);

  return (
    <s-tile
      heading="possession"
      subheading={status}
      tone={ok ? 'accent' : 'neutral'}
      onClick={() => shopify.action.presentModal()}
    />
  );
}

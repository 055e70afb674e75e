import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { Layout } from './layout';
import { DomainFormPage } from './pages/domain-form-page';
import { NumbersPage, ServerNumbersPage } from './pages/numbers-page';
import { ServerPage } from './pages/server-page';
import { ServersPage } from './pages/servers-page';
import { prefetchNumbers } from './numbers/use-numbers';
import { viewOf, statsQueryOf } from './numbers/numbers-view';
import { href, parseRoute, useRoute, type Route } from './router';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'servers':
      return <ServersPage />;
    case 'server':
      return <ServerPage token={route.token} />;
    case 'new-domain':
      return <DomainFormPage token={route.token} />;
    case 'edit-domain':
      return <DomainFormPage key={route.host} host={route.host} />;
    case 'numbers':
      return <NumbersPage />;
    case 'server-numbers':
      return <ServerNumbersPage token={route.token} params={route.params} />;
    case 'not-found':
      return (
        <div className="card empty">
          <p>
            Nothing here. Back to <a href={href.servers()}>Servers</a>.
          </p>
        </div>
      );
  }
}

function Console() {
  const route = useRoute();
  return (
    <Layout route={route}>
      <Page key={'token' in route ? `${route.page} ${route.token}` : route.page} route={route} />
    </Layout>
  );
}

// The numbers page's first figures are asked for now, while React renders (see prefetchNumbers).
const openedOn = parseRoute(window.location.hash);
if (openedOn.page === 'server-numbers') prefetchNumbers(openedOn.token, statsQueryOf(viewOf(openedOn.params)));

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Console />
  </StrictMode>,
);

import { useState, type ReactNode } from 'react';
import { LOGIN_PAGE } from '../shared/api-client';
import { api } from './api';
import { href, type Route } from './router';

const NAV: Array<{ label: string; to: string; pages: Route['page'][] }> = [
  { label: 'Servers', to: href.servers(), pages: ['servers', 'server', 'new-domain', 'edit-domain'] },
  { label: 'Numbers', to: href.numbers(), pages: ['numbers', 'server-numbers'] },
];

/** The frame of every console page: the brand, the sections, logout. */
export function Layout({ route, children }: { route: Route; children: ReactNode }) {
  const [loggingOut, setLoggingOut] = useState(false);
  const logout = async () => {
    setLoggingOut(true);
    try {
      await api.logout();
    } finally {
      window.location.assign(LOGIN_PAGE);
    }
  };
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href.servers()}>
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">mailbeacon</span>
        </a>
        <nav className="nav" aria-label="Sections">
          {NAV.map((item) => (
            <a key={item.label} href={item.to} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <button type="button" className="button button-quiet logout" onClick={logout} disabled={loggingOut}>
          Log out
        </button>
      </header>
      <main className="main">{children}</main>
    </div>
  );
}

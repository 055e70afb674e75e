import type { ReactNode } from 'react';
import type { Server } from '../../shared/types';

interface ServerRowsProps {
  servers: Server[];
  /** Where a server's row leads (its page, its numbers). */
  to(server: Server): string;
  /** More about each server, after its token. */
  meta?(server: Server): ReactNode;
}

/** The servers as rows of links: name, token, and what the page adds. */
export function ServerRows({ servers, to, meta }: ServerRowsProps) {
  return (
    <ul className="rows">
      {servers.map((server) => (
        <li key={server.token}>
          <a className={meta ? 'row-link' : 'row-link row-link-simple'} href={to(server)}>
            <span className="row-title">{server.name}</span>
            <span className="row-meta mono">{server.token}</span>
            {meta && <span className="row-meta">{meta(server)}</span>}
            <span className="chevron" aria-hidden="true">
              ›
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

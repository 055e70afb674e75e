import { href } from '../router';

/** The dashboard's place: its pages (numbers, charts, message lookup) come with the stats API. */
export function NumbersPage() {
  return (
    <>
      <header className="page-header">
        <h1>Numbers</h1>
        <p className="lead">Messages sent, opens and clicks per server, over time.</p>
      </header>
      <div className="card empty">
        <p>The numbers are not in the console yet. Until then, see each server&apos;s tracking domains under <a href={href.servers()}>Servers</a>.</p>
      </div>
    </>
  );
}

import type { TrackingDomain } from '@mailbeacon/db';

/** Where the cache reads the current settings from (the repository, in production). */
export interface TrackingDomainSource {
  list(): Promise<TrackingDomain[]>;
}

export interface TrackingDomainCacheOptions {
  /** How often to reload (ms); a settings change is live within this time. */
  refreshMs: number;
  /** Called when a reload fails; the last good copy keeps serving. */
  onRefreshError?: (error: unknown) => void;
}

/**
 * Every tracking domain in memory, grouped by server, reloaded periodically: the rewriter
 * asks for each message, so it must not cost a database round trip, and a short Postgres
 * outage must not stop mail.
 */
export class TrackingDomainCache {
  private byServer = new Map<string, TrackingDomain[]>();
  private timer?: NodeJS.Timeout;
  private loadedAt?: Date;

  constructor(
    private readonly source: TrackingDomainSource,
    private readonly options: TrackingDomainCacheOptions,
  ) {}

  /** Loads once (throws if that fails), then keeps refreshing in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get lastLoadedAt(): Date | undefined {
    return this.loadedAt;
  }

  forServer(server: string): readonly TrackingDomain[] {
    return this.byServer.get(server) ?? [];
  }

  async refresh(): Promise<void> {
    const domains = await this.source.list();
    const byServer = new Map<string, TrackingDomain[]>();
    for (const domain of domains) {
      const list = byServer.get(domain.server);
      if (list) list.push(domain);
      else byServer.set(domain.server, [domain]);
    }
    this.byServer = byServer;
    this.loadedAt = new Date();
  }

  private schedule(): void {
    this.timer = setTimeout(async () => {
      try {
        await this.refresh();
      } catch (error) {
        this.options.onRefreshError?.(error);
      }
      if (this.timer) this.schedule();
    }, this.options.refreshMs);
    this.timer.unref();
  }
}

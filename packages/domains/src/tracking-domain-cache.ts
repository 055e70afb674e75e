import type { TrackingDomain, TrackingSettings } from '@mailbeacon/db';
import { selectTrackingDomain, type Selection } from './select-tracking-domain';
import { SerialTask } from './serial-task';

/** Where the cache reads the current settings from (loadTrackingSettings, in production). */
export interface TrackingSettingsSource {
  load(): Promise<TrackingSettings>;
}

/** Says when the settings changed (the PostgreSQL LISTEN of TrackingSettingsListener, in production). */
export interface TrackingSettingsChanges {
  /** Calls `changed` on every change, and after every reconnection (what changed meanwhile was missed). */
  start(changed: () => void): Promise<void>;
  /**
   * Resolves true once every change committed before the call has been announced (a round trip
   * on the listening connection: notifications come first), false when not listening.
   */
  sync(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface TrackingDomainCacheOptions {
  /** How often to reload (ms) whatever the notifications say: the safety net for a lost one. */
  refreshMs: number;
  /** Reloads at once when they announce a change; a message that finds nothing first syncs with them. */
  changes?: TrackingSettingsChanges;
  /** Called when a load fails (once per load); the last good copy keeps serving. */
  onRefreshError?: (error: unknown) => void;
  /**
   * How long a message that finds nothing in memory waits for what could change that (the sync
   * with the change notifications, a reload they started, the check of an unknown server) before
   * going with the last good copy; default 2000 ms.
   */
  freshnessWaitMs?: number;
  /**
   * The least time between two reloads caused by unknown server tokens (default 1000 ms): a
   * flood of bad tokens costs PostgreSQL at most one reload per interval.
   */
  unknownServerRecheckMs?: number;
}

/**
 * Every server and tracking domain in memory, grouped by server: the rewriter asks for each
 * message, so it must not cost a query, and a short Postgres outage must not stop mail.
 * Reloaded when a change is announced (within milliseconds of its commit), and periodically as
 * a safety net.
 *
 * A message that finds what it needs is answered from memory at once. One that finds nothing (an
 * unknown server token, no tracking domain for its sender) may be the first after the change
 * that would serve it (`domains add`, then send), its notification still in transit: the cache
 * then syncs with the notifications (one round trip on the listening connection, shared by the
 * messages that missed meanwhile), waits for the reload they started, and looks once more.
 * Reloads never overlap, and one asked for while another runs (which may have read before that
 * change committed) runs after it.
 */
export class TrackingDomainCache {
  private byServer = new Map<string, TrackingDomain[]>();
  /** Tokens found unknown by a reload that started after they were asked for; forgotten at the next reload. */
  private confirmedUnknown = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly reloads = new SerialTask(() => this.load());
  private readonly syncs: SerialTask<boolean>;
  /** A sync that outlived freshnessWaitMs (PostgreSQL frozen), until it settles: messages do not wait for syncs meanwhile. */
  private hungSync?: Promise<boolean>;
  /** The reload started by the latest change notification, until it settles: messages wait for it. */
  private announced?: Promise<void>;
  /** When a reload was last asked for because of an unknown token. */
  private recheckStartedAt = -Infinity;
  private loadedAt?: Date;
  private stopped = false;

  constructor(
    private readonly source: TrackingSettingsSource,
    private readonly options: TrackingDomainCacheOptions,
  ) {
    this.syncs = new SerialTask(() => options.changes?.sync() ?? Promise.resolve(false));
  }

  /** Starts listening for changes, loads once (throws if that fails), then keeps refreshing in the background. */
  async start(): Promise<void> {
    await this.options.changes?.start(() => this.changeAnnounced());
    // Listening succeeded: its reconnection call started a reload that sees every change from now on.
    await (this.announced ?? this.reload());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.options.changes?.stop();
  }

  get lastLoadedAt(): Date | undefined {
    return this.loadedAt;
  }

  /**
   * The tracking domain for a message from `senderDomain` (or the one the job names), or why
   * there is none; undefined when no server has this token. See domainsOf for a token not in
   * memory.
   */
  async trackingDomainFor(server: string, senderDomain: string | undefined, explicit?: string): Promise<Selection<TrackingDomain> | undefined> {
    const selectable = (domains: readonly TrackingDomain[]) => selectTrackingDomain(domains, senderDomain, explicit).domain !== undefined;
    const domains = await this.lookUp(server, selectable);
    return domains && selectTrackingDomain(domains, senderDomain, explicit);
  }

  /**
   * The server's tracking domains, or undefined when no server has this token. A token not in
   * memory is looked for once more after syncing with the change notifications; when they
   * cannot be synced with (not listening), by a reload that starts after it was asked for: the
   * server may have been created a moment ago. Bounded, so a flood of bad tokens costs little:
   * a token found unknown is not looked for again until the next reload, and at most one reload
   * per `unknownServerRecheckMs` is started for them (tokens asked for meanwhile join a reload
   * already waiting to start, or are answered from memory).
   */
  domainsOf(server: string): Promise<readonly TrackingDomain[] | undefined> {
    return this.lookUp(server, () => true);
  }

  /** Loads the settings now; if a load is running, once more after it (shared by everyone asking meanwhile). */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  /** The server's domains from memory when they `suffice`; else looked for once more, as domainsOf says. */
  private async lookUp(server: string, suffice: (domains: readonly TrackingDomain[]) => boolean): Promise<readonly TrackingDomain[] | undefined> {
    const known = this.byServer.get(server);
    if (known ? suffice(known) : this.confirmedUnknown.has(server)) return known;
    const caughtUp = await this.catchUp();
    const domains = this.byServer.get(server);
    if (domains || this.confirmedUnknown.has(server)) return domains;
    if (caughtUp) {
      // Every change committed before the message was asked for is in memory.
      this.confirmedUnknown.add(server);
      return undefined;
    }
    return this.recheckUnknown(server);
  }

  /** A token still unknown when the notifications could not be synced with: a reload that starts now decides (rate-limited). */
  private async recheckUnknown(server: string): Promise<readonly TrackingDomain[] | undefined> {
    if (!this.reloads.hasQueued) {
      if (performance.now() - this.recheckStartedAt < (this.options.unknownServerRecheckMs ?? 1000)) return undefined;
      this.recheckStartedAt = performance.now();
    }
    const loaded = this.reload().then(
      () => true,
      () => false, // reported by load
    );
    if (!(await this.within(loaded, false))) return this.byServer.get(server);
    const found = this.byServer.get(server);
    if (!found) this.confirmedUnknown.add(server);
    return found;
  }

  /**
   * Syncs with the notifications and waits for the reload they started. True when every change
   * committed before the call is now in memory; false when that could not be made sure of (not
   * listening, a wait longer than freshnessWaitMs, a failed reload).
   */
  private async catchUp(): Promise<boolean> {
    if (!this.options.changes || this.hungSync) return false;
    const sync = this.syncs.run().catch(() => false);
    const synced = await this.within(sync, undefined);
    if (synced === undefined) {
      // A sync that hangs (PostgreSQL frozen) delays one round of messages, not every later one.
      this.hungSync = sync;
      void sync.finally(() => {
        if (this.hungSync === sync) this.hungSync = undefined;
      });
      return false;
    }
    const announced = this.announced;
    if (!announced) return synced;
    const reloaded = await this.within(
      announced.then(() => true, () => false),
      undefined,
    );
    // The same for a reload that hangs.
    if (reloaded === undefined && this.announced === announced) this.announced = undefined;
    return synced && reloaded === true;
  }

  private async load(): Promise<void> {
    let settings: TrackingSettings;
    try {
      settings = await this.source.load();
    } catch (error) {
      this.options.onRefreshError?.(error);
      throw error;
    }
    const { servers, domains } = settings;
    const byServer = new Map<string, TrackingDomain[]>(servers.map((token) => [token, []]));
    for (const domain of domains) {
      const list = byServer.get(domain.server);
      if (list) list.push(domain);
      else byServer.set(domain.server, [domain]);
    }
    this.byServer = byServer;
    this.confirmedUnknown = new Set();
    this.loadedAt = new Date();
  }

  private changeAnnounced(): void {
    if (this.stopped) return;
    const reload = this.reload();
    this.announced = reload;
    void reload
      .catch(() => {})
      .finally(() => {
        if (this.announced === reload) this.announced = undefined;
      });
  }

  /** `work`'s result, or `late` when it takes longer than freshnessWaitMs. */
  private async within<T, L>(work: Promise<T>, late: L): Promise<T | L> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<L>((resolve) => {
      timer = setTimeout(() => resolve(late), this.options.freshnessWaitMs ?? 2000);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.reload().catch(() => {});
      if (this.timer) this.schedule();
    }, this.options.refreshMs);
    this.timer.unref();
  }
}

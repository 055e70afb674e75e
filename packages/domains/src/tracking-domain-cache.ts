import type { TrackingDomain, TrackingSettings } from '@mailbeacon/db';
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
  /** Reloads at once when they announce a change; each message first syncs with them. */
  changes?: TrackingSettingsChanges;
  /** Called when a load fails (once per load); the last good copy keeps serving. */
  onRefreshError?: (error: unknown) => void;
  /**
   * How long a message waits for what it depends on (the sync with the change notifications, a
   * reload they started, the check of an unknown server) before going with the last good copy;
   * default 2000 ms.
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
 * Reloaded when a change is announced, and periodically as a safety net.
 *
 * A message sent right after a change must use it: before answering, the cache syncs with the
 * notifications (one shared round trip on the listening connection for all the messages that
 * arrived meanwhile), then waits for the reload a notification started. Reloads never overlap,
 * and one asked for while another runs (which may have read before that change committed)
 * runs after it.
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
   * The server's tracking domains, or undefined when no server has this token. A token not in
   * memory is checked again in the database, by a reload that starts after it was asked for,
   * before it is called unknown: the server may have been created a moment ago and its
   * notification not be here yet. Bounded, so a flood of bad tokens costs little: at most one
   * reload per `unknownServerRecheckMs` is started for them (tokens asked for meanwhile join a
   * reload already waiting to start, or are answered from memory), and a token found unknown
   * is not checked again until the next reload.
   */
  async domainsOf(server: string): Promise<readonly TrackingDomain[] | undefined> {
    await this.catchUp();
    const domains = this.byServer.get(server);
    if (domains || this.confirmedUnknown.has(server)) return domains;
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

  /** Loads the settings now; if a load is running, once more after it (shared by everyone asking meanwhile). */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  /** Every change committed before now announced, and loaded (or freshnessWaitMs spent trying). */
  private async catchUp(): Promise<void> {
    const settled = (work: Promise<unknown>) => this.within(work.then(() => true, () => true), false);
    if (this.options.changes && !this.hungSync) {
      const sync = this.syncs.run();
      if (!(await settled(sync))) {
        // A sync that hangs (PostgreSQL frozen) delays one round of messages, not every later one.
        this.hungSync = sync;
        void sync.catch(() => false).finally(() => {
          if (this.hungSync === sync) this.hungSync = undefined;
        });
      }
    }
    const announced = this.announced;
    // The same for a reload that hangs.
    if (announced && !(await settled(announced)) && this.announced === announced) this.announced = undefined;
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
  private async within<T>(work: Promise<T>, late: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<T>((resolve) => {
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

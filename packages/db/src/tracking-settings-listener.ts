import pg from 'pg';

/** Where migration 0003's trigger announces every change to servers and tracking domains. */
export const TRACKING_SETTINGS_CHANNEL = 'mailbeacon_tracking_settings';

/** How the listening connection shows in pg_stat_activity. */
export const TRACKING_SETTINGS_LISTENER_NAME = 'mailbeacon-settings-listener';

export interface TrackingSettingsListenerOptions {
  /** Called when the connection fails or is lost, and at each failed reconnection; the listener keeps reconnecting. */
  onError?: (error: unknown) => void;
  /** Called each time the LISTEN is in place: after the first connection and every reconnection. */
  onListening?: () => void;
  /** First delay before reconnecting (default 200 ms), doubled after each failure up to maxRetryMs (default 5000 ms). */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * LISTENs for changes to the tracking settings on a connection of its own (a pooled one would
 * lose the LISTEN when returned), and reconnects whenever that connection is lost: PostgreSQL
 * restarted, the backend was terminated, the network failed (TCP keep-alive finds the silent
 * cases). Notifications sent while it was not listening are lost, so `changed` is also called
 * after every (re)connection: the listener cannot tell what it missed.
 */
export class TrackingSettingsListener {
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private changed: () => void = () => {};
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly options: TrackingSettingsListenerOptions = {},
  ) {
    this.delayMs = options.retryMs ?? 200;
  }

  /**
   * Calls `changed` on every notification and after every (re)connection. Resolves after the
   * first attempt, listening or not: a failed one is reported and retried in the background.
   */
  async start(changed: () => void): Promise<void> {
    this.changed = changed;
    await this.connect();
  }

  /** Whether the LISTEN is in place right now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Resolves true once every change committed before the call has been announced: PostgreSQL
   * sends the notifications a session has pending before the answer to its next query. False
   * when not listening (nothing can be announced then; the reconnection will say so).
   */
  async sync(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    try {
      await client.query('select 1');
      return true;
    } catch {
      return false; // the connection was lost: onLost reconnects
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: TRACKING_SETTINGS_LISTENER_NAME });
    let lost = false;
    const onLost = (error: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => {});
      if (this.stopped) return;
      this.options.onError?.(error);
      this.retryTimer = setTimeout(() => void this.connect(), this.delayMs);
      this.retryTimer.unref();
      this.delayMs = Math.min(this.delayMs * 2, this.options.maxRetryMs ?? 5000);
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('the listening connection to PostgreSQL was closed')));
    client.on('notification', (notification) => {
      if (notification.channel === TRACKING_SETTINGS_CHANNEL) this.changed();
    });
    try {
      await client.connect();
      await client.query(`listen ${TRACKING_SETTINGS_CHANNEL}`);
    } catch (error) {
      onLost(error);
      return;
    }
    if (lost) return;
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delayMs = this.options.retryMs ?? 200;
    this.options.onListening?.();
    this.changed();
  }
}

import type { Kysely } from 'kysely';
import type { Database, TrackingDomainRow, VerificationStatus } from './schema';

export interface TrackingDomain {
  id: number;
  /** The owning server's token. */
  server: string;
  host: string;
  ssl: boolean;
  trackClicks: boolean;
  trackOpens: boolean;
  excludedDomains: string[];
  verification: { status: VerificationStatus; message: string | null; checkedAt: Date | null };
  updatedAt: Date;
}

export interface TrackingDomainSettings {
  ssl?: boolean;
  trackClicks?: boolean;
  trackOpens?: boolean;
  excludedDomains?: string[];
}

export interface NewTrackingDomain extends TrackingDomainSettings {
  host: string;
  /** The owning server's token. */
  server: string;
}

export class UnknownServerError extends Error {
  override readonly name = 'UnknownServerError';
}
export class DuplicateTrackingDomainError extends Error {
  override readonly name = 'DuplicateTrackingDomainError';
}

type Row = TrackingDomainRow & { server_token: string };

const toDomain = (row: Row): TrackingDomain => ({
  id: row.id,
  server: row.server_token,
  host: row.host,
  ssl: row.ssl,
  trackClicks: row.track_clicks,
  trackOpens: row.track_opens,
  excludedDomains: row.excluded_domains,
  verification: { status: row.verification_status, message: row.verification_message, checkedAt: row.checked_at },
  updatedAt: row.updated_at,
});

export class TrackingDomainRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private select() {
    return this.db.selectFrom('tracking_domains').innerJoin('servers', 'servers.id', 'tracking_domains.server_id').selectAll('tracking_domains').select('servers.token as server_token');
  }

  async add(domain: NewTrackingDomain): Promise<TrackingDomain> {
    const server = await this.db.selectFrom('servers').select('id').where('token', '=', domain.server).executeTakeFirst();
    if (!server) throw new UnknownServerError(`no server with token ${domain.server}`);
    try {
      await this.db
        .insertInto('tracking_domains')
        .values({
          server_id: server.id,
          host: domain.host,
          ssl: domain.ssl,
          track_clicks: domain.trackClicks,
          track_opens: domain.trackOpens,
          excluded_domains: domain.excludedDomains ?? [],
          verification_message: null,
          checked_at: null,
        })
        .execute();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new DuplicateTrackingDomainError(`${domain.host} is already a tracking domain`);
      // The server was removed between the lookup above and the insert.
      if ((error as { code?: string }).code === '23503') throw new UnknownServerError(`no server with token ${domain.server}`);
      throw error;
    }
    return (await this.findByHost(domain.host))!;
  }

  async list(server?: string): Promise<TrackingDomain[]> {
    let query = this.select().orderBy('tracking_domains.host');
    if (server !== undefined) query = query.where('servers.token', '=', server);
    return (await query.execute()).map(toDomain);
  }

  async findByHost(host: string): Promise<TrackingDomain | undefined> {
    const row = await this.select().where('tracking_domains.host', '=', host).executeTakeFirst();
    return row && toDomain(row);
  }

  /** Returns the updated domain, or undefined when there is no such host. */
  async update(host: string, settings: TrackingDomainSettings): Promise<TrackingDomain | undefined> {
    const result = await this.db
      .updateTable('tracking_domains')
      .set({
        ...(settings.ssl !== undefined && { ssl: settings.ssl }),
        ...(settings.trackClicks !== undefined && { track_clicks: settings.trackClicks }),
        ...(settings.trackOpens !== undefined && { track_opens: settings.trackOpens }),
        ...(settings.excludedDomains !== undefined && { excluded_domains: settings.excludedDomains }),
        updated_at: new Date(),
      })
      .where('host', '=', host)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findByHost(host) : undefined;
  }

  async remove(host: string): Promise<boolean> {
    const result = await this.db.deleteFrom('tracking_domains').where('host', '=', host).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async recordCheck(host: string, status: Exclude<VerificationStatus, 'unchecked'>, message: string, at = new Date()): Promise<void> {
    await this.db.updateTable('tracking_domains').set({ verification_status: status, verification_message: message, checked_at: at }).where('host', '=', host).execute();
  }
}

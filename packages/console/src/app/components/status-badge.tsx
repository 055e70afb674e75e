import type { TrackingDomain } from '../../shared/types';

const LABELS = { ok: 'Verified', failed: 'Failing', unchecked: 'Never checked' } as const;

export function StatusBadge({ verification }: { verification: TrackingDomain['verification'] }) {
  return <span className={`badge badge-${verification.status}`}>{LABELS[verification.status]}</span>;
}

export const formatTime = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

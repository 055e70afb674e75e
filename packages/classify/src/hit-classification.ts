import { isbot } from 'isbot';
import {
  isAppleMppAgent,
  isGmailPrefetchAgent,
  isGoogleImageProxyAgent,
  isPrefetchPurpose,
  isScannerAgent,
  isYahooMailProxyAgent,
} from './agents';
import type { Classification, ImageProxy, MachineReason } from './machine-reasons';

export interface HitSignals {
  type: 'open' | 'click';
  /** 'GET' | 'HEAD' usually. */
  method: string;
  userAgent: string | null;
  /** Value of the Sec-Purpose or Purpose request header, if any. */
  purpose?: string | null;
}

const HUMAN: Classification = { machine: false, reason: null, proxy: null };

function machine(reason: MachineReason, proxy: ImageProxy | null = null): Classification {
  return { machine: true, reason, proxy };
}

function humanVia(proxy: ImageProxy): Classification {
  return { machine: false, reason: null, proxy };
}

/** Rules that need only the request itself, in the reference's priority order. */
export function classifyHit(hit: HitSignals): Classification {
  // Upper-cased because some frameworks hand methods over in lower case.
  if (hit.method.toUpperCase() !== 'GET') return machine('non-get');

  const agent = hit.userAgent ?? '';
  if (agent.trim() === '') return machine('no-user-agent');

  if (isPrefetchPurpose(hit.purpose)) return machine('prefetch');

  const isOpen = hit.type === 'open';
  // Proxy rules apply to opens only: Private Relay and the image proxies also carry people's own browsing.
  if (isOpen && isAppleMppAgent(agent)) return machine('apple-mpp', 'apple');
  if (isGmailPrefetchAgent(agent)) return machine('gmail-prefetch');
  // Checked before isbot, which would otherwise throw away real Gmail and Yahoo opens.
  if (isOpen && isGoogleImageProxyAgent(agent)) return humanVia('google');
  if (isOpen && isYahooMailProxyAgent(agent)) return humanVia('yahoo');

  if (isScannerAgent(agent)) return machine('scanner-agent');
  if (isbot(agent)) return machine('bot');
  return HUMAN;
}

import { isbot } from 'isbot';
import { classifyHit, GMAIL_PREFETCH_AGENT, SCANNER_AGENT_MARKS, MACHINE_REASONS } from '@mailbeacon/classify';
import type { Classification, HitSignals } from '@mailbeacon/classify';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const IPHONE_MAIL =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
const OUTLOOK_DESKTOP = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)';
const OUTLOOK_MS_OFFICE = 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)';
const GOOGLE_IMAGE_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const YAHOO_PROXY = 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html';
const MIMECAST = 'Mozilla/5.0 (compatible; Mimecast URL Protect)';

const HUMAN: Classification = { machine: false, reason: null, proxy: null };
const open = (userAgent: string | null, extra: Partial<HitSignals> = {}): HitSignals => ({
  type: 'open',
  method: 'GET',
  userAgent,
  ...extra,
});
const click = (userAgent: string | null, extra: Partial<HitSignals> = {}): HitSignals => ({
  type: 'click',
  method: 'GET',
  userAgent,
  ...extra,
});
const machine = (reason: Classification['reason'], proxy: Classification['proxy'] = null): Classification => ({
  machine: true,
  reason,
  proxy,
});

describe('classifyHit', () => {
  it.each<[string, HitSignals, Classification]>([
    // non-get, and its priority over everything else
    ['HEAD open', open(CHROME, { method: 'HEAD' }), machine('non-get')],
    ['HEAD click', click(CHROME, { method: 'HEAD' }), machine('non-get')],
    ['POST click', click(CHROME, { method: 'POST' }), machine('non-get')],
    ['HEAD with GoogleImageProxy agent', open(GOOGLE_IMAGE_PROXY, { method: 'HEAD' }), machine('non-get')],
    ['HEAD without agent', open(null, { method: 'HEAD' }), machine('non-get')],
    ['lower-case get is GET', open(CHROME, { method: 'get' }), HUMAN],

    // no-user-agent
    ['null agent', open(null), machine('no-user-agent')],
    ['empty agent', click(''), machine('no-user-agent')],
    ['whitespace agent', open(' \t '), machine('no-user-agent')],
    ['empty agent beats prefetch header', open('', { purpose: 'prefetch' }), machine('no-user-agent')],

    // prefetch
    ['Sec-Purpose prefetch;prerender', click(CHROME, { purpose: 'prefetch;prerender' }), machine('prefetch')],
    ['Purpose prefetch', open(CHROME, { purpose: 'prefetch' }), machine('prefetch')],
    ['Purpose Preview (case)', click(CHROME, { purpose: 'Preview' }), machine('prefetch')],
    ['Sec-Purpose PRERENDER', click(CHROME, { purpose: 'PRERENDER' }), machine('prefetch')],
    ['prefetch beats MPP', open('Mozilla/5.0', { purpose: 'prefetch' }), machine('prefetch')],
    ['other purpose is ignored', click(CHROME, { purpose: 'navigate' }), HUMAN],
    ['null purpose', click(CHROME, { purpose: null }), HUMAN],

    // Apple MPP: opens only, exact agent
    ['bare Mozilla/5.0 open', open('Mozilla/5.0'), machine('apple-mpp', 'apple')],
    ['bare Mozilla/5.0 open, padded', open('  Mozilla/5.0 '), machine('apple-mpp', 'apple')],
    ['bare Mozilla/5.0 click falls to isbot', click('Mozilla/5.0'), machine('bot')],
    ['Mozilla/5.0 with more is not MPP', open('Mozilla/5.0 (compatible)'), machine('bot')],

    // Gmail prefetch, opens and clicks
    ['Gmail prefetch open', open(GMAIL_PREFETCH_AGENT), machine('gmail-prefetch')],
    ['Gmail prefetch click', click(GMAIL_PREFETCH_AGENT), machine('gmail-prefetch')],

    // Gmail and Yahoo image proxies: human opens
    ['GoogleImageProxy open', open(GOOGLE_IMAGE_PROXY), { machine: false, reason: null, proxy: 'google' }],
    ['GoogleImageProxy click falls to isbot', click(GOOGLE_IMAGE_PROXY), machine('bot')],
    ['YahooMailProxy open', open(YAHOO_PROXY), { machine: false, reason: null, proxy: 'yahoo' }],
    ['yahoomailproxy open (case)', open('yahoomailproxy/1.0'), { machine: false, reason: null, proxy: 'yahoo' }],
    ['YahooMailProxy click falls to isbot', click(YAHOO_PROXY), machine('bot')],
    ['YahooMailProxy not at start', open(`Something ${YAHOO_PROXY}`), machine('bot')],

    // scanners
    ['Mimecast open', open(MIMECAST), machine('scanner-agent')],
    ['Mimecast click', click(MIMECAST), machine('scanner-agent')],
    ['Barracuda Sentinel', click('Barracuda Sentinel (EE)'), machine('scanner-agent')],
    ['Trend Micro in a Chrome agent', click(`${CHROME} Trend Micro`), machine('scanner-agent')],
    ['Safe Links', click('Mozilla/5.0 (compatible; SafeLinks)'), machine('scanner-agent')],

    // isbot
    ['curl', click('curl/8.4.0'), machine('bot')],
    ['python-requests', click('python-requests/2.31.0'), machine('bot')],
    ['Go-http-client', open('Go-http-client/1.1'), machine('bot')],
    [
      'HeadlessChrome',
      click('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36'),
      machine('bot'),
    ],

    // people
    ['Chrome open', open(CHROME), HUMAN],
    ['Chrome click', click(CHROME), HUMAN],
    ['Firefox click', click(FIREFOX), HUMAN],
    ['Safari click', click(SAFARI), HUMAN],
    ['iPhone Mail open', open(IPHONE_MAIL), HUMAN],
    ['Outlook desktop open', open(OUTLOOK_DESKTOP), HUMAN],
    ['Outlook ms-office open', open(OUTLOOK_MS_OFFICE), HUMAN],
    ['Outlook desktop click', click(OUTLOOK_DESKTOP), HUMAN],
  ])('%s', (_name, hit, expected) => {
    expect(classifyHit(hit)).toEqual(expected);
  });

  it('never returns a proxy for a click', () => {
    for (const agent of ['Mozilla/5.0', GOOGLE_IMAGE_PROXY, YAHOO_PROXY, CHROME]) {
      expect(classifyHit(click(agent)).proxy).toBeNull();
    }
  });

  it('keeps reason null exactly when the hit is human', () => {
    for (const agent of [null, 'Mozilla/5.0', GOOGLE_IMAGE_PROXY, MIMECAST, 'curl/8', CHROME, OUTLOOK_DESKTOP]) {
      for (const hit of [open(agent), click(agent)]) {
        const result = classifyHit(hit);
        expect(result.reason === null).toBe(!result.machine);
      }
    }
  });
});

describe('agent lists against isbot 5.2.3', () => {
  // Guards the reasoning behind the rule order: if isbot changes, these tell us which rules still matter.
  it('isbot would throw away the proxy opens, so the proxy rules must run first', () => {
    expect(isbot('Mozilla/5.0')).toBe(true);
    expect(isbot(GOOGLE_IMAGE_PROXY)).toBe(true);
    expect(isbot(YAHOO_PROXY)).toBe(true);
  });

  it('isbot misses the Gmail prefetch agent and Outlook desktop', () => {
    expect(isbot(GMAIL_PREFETCH_AGENT)).toBe(false);
    expect(isbot(OUTLOOK_DESKTOP)).toBe(false);
    expect(isbot(OUTLOOK_MS_OFFICE)).toBe(false);
  });

  it.each(SCANNER_AGENT_MARKS.map((mark) => [mark]))(
    'isbot misses %s inside a browser-like agent, and our list catches it',
    (mark) => {
      const agent = `Mozilla/5.0 (compatible; ${mark})`;
      expect(isbot(agent)).toBe(false);
      expect(classifyHit(click(agent))).toEqual(machine('scanner-agent'));
      expect(classifyHit(click(agent.toUpperCase()))).toEqual(machine('scanner-agent'));
    },
  );
});

describe('MACHINE_REASONS', () => {
  it('lists every reason once, in priority order', () => {
    expect(MACHINE_REASONS).toEqual([
      'non-get',
      'no-user-agent',
      'prefetch',
      'apple-mpp',
      'gmail-prefetch',
      'scanner-agent',
      'bot',
      'before-send',
      'early-click',
      'burst',
    ]);
  });
});

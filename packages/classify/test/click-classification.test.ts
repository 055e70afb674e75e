import { classifyClick, classifyHit } from '@mailbeacon/classify';
import type { Classification } from '@mailbeacon/classify';

const HUMAN: Classification = { machine: false, reason: null, proxy: null };
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const machine = (reason: Classification['reason']): Classification => ({ machine: true, reason, proxy: null });

describe('classifyClick', () => {
  it.each<[string, Classification, 'before-send' | 'early-click' | null, boolean, Classification]>([
    ['human, on time, no burst', HUMAN, null, false, HUMAN],
    ['request rule wins over timing and burst', machine('non-get'), 'before-send', true, machine('non-get')],
    ['request rule wins over burst', machine('bot'), null, true, machine('bot')],
    ['request rule alone', machine('scanner-agent'), null, false, machine('scanner-agent')],
    ['before-send alone', HUMAN, 'before-send', false, machine('before-send')],
    ['before-send wins over burst', HUMAN, 'before-send', true, machine('before-send')],
    // Nobody receives, opens and clicks a message within two seconds of its sending.
    ['early-click alone', HUMAN, 'early-click', false, machine('early-click')],
    ['early-click with a burst', HUMAN, 'early-click', true, machine('early-click')],
    ['burst alone', HUMAN, null, true, machine('burst')],
  ])('%s', (_name, request, timing, inBurst, expected) => {
    expect(classifyClick(request, timing, inBurst)).toEqual(expected);
  });

  it('drops any proxy, since proxies fetch opens and not clicks', () => {
    const viaGoogle: Classification = { machine: false, reason: null, proxy: 'google' };
    expect(classifyClick(viaGoogle, null, false)).toEqual(HUMAN);
    expect(classifyClick({ machine: true, reason: 'apple-mpp', proxy: 'apple' }, null, false)).toEqual(
      machine('apple-mpp'),
    );
  });

  it('composes with classifyHit', () => {
    const request = classifyHit({ type: 'click', method: 'GET', userAgent: CHROME });
    expect(classifyClick(request, null, false)).toEqual(HUMAN);
    expect(classifyClick(request, null, true)).toEqual(machine('burst'));
  });
});

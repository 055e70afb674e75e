import { useCallback, useEffect, useState } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import type { StatsLinks, StatsSeries, StatsSummary, StatsTags } from '../../shared/types';
import { api } from '../api';

/** A view's numbers; `tags` and `links` arrive after the rest (see useNumbers). */
export interface ViewNumbers {
  /** The stats query these numbers answer. */
  key: string;
  summary: StatsSummary;
  series: StatsSeries;
  tags?: StatsTags;
  links?: StatsLinks;
}

export interface LoadedNumbers {
  /** The last view's numbers that arrived (possibly an earlier view's while the new one loads). */
  data?: ViewNumbers;
  error?: string;
  reload(): void;
}

/** A refused query names each bad parameter: say which (a hand-edited or stale bookmark). */
function explained(failure: unknown): string {
  if (failure instanceof ApiRequestError && failure.issues.length > 0) return failure.issues.map((issue) => `${issue.field} ${issue.message}`).join('; ');
  return failure instanceof Error ? failure.message : String(failure);
}

/** The summary and the series main.tsx asked for before React rendered, for the view the page opened on. */
let prefetched: { token: string; key: string; answers: Promise<[StatsSummary, StatsSeries]> } | undefined;

const summaryAndSeries = (token: string, query: URLSearchParams) => Promise.all([api.summary(token, query), api.series(token, query)]);

/**
 * Asks for the summary and the series of the view the console opens on before React's first render
 * (main.tsx): the entry script and React's first render take about as long as the two queries, so
 * they no longer run one after the other (bench:console's render measurement). useNumbers adopts
 * the answers when its first view is this one.
 */
export function prefetchNumbers(token: string, query: URLSearchParams): void {
  const answers = summaryAndSeries(token, query);
  answers.catch(() => undefined); // a failure is shown by the useNumbers that adopts it
  prefetched = { token, key: query.toString(), answers };
}

/**
 * Loads the numbers of `query` in two steps: the summary and the series (the figures and the chart
 * at the top of the page), then the tags and the links (the tables below). PostgreSQL answers four
 * long-range queries at once in about the time of all four on a small machine, so asking for the
 * tables only afterwards puts the top of the page on screen in the time of its own two
 * (bench:console's render measurement: 90 days at 2,000,000 messages).
 */
export function useNumbers(token: string, query: URLSearchParams): LoadedNumbers {
  const key = query.toString();
  const [state, setState] = useState<{ data?: ViewNumbers; error?: string }>({});
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    // The prefetch stays until an effect still current takes its answers: StrictMode's second run adopts it too.
    const adopted = generation === 0 && prefetched?.token === token && prefetched.key === key ? prefetched.answers : undefined;
    if (!adopted) prefetched = undefined;
    (async () => {
      const answers = adopted ?? summaryAndSeries(token, query);
      const [summary, series] = await answers.finally(() => {
        if (current && prefetched?.answers === answers) prefetched = undefined; // a later visit asks afresh
      });
      if (!current) return;
      setState({ data: { key, summary, series } });
      const [tags, links] = await Promise.all([api.tags(token, query), api.links(token, query)]);
      if (current) setState({ data: { key, summary, series, tags, links } });
    })().catch((failure: unknown) => current && setState({ error: explained(failure) }));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` is the query's content
  }, [token, key, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}

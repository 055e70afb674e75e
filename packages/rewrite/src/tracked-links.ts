export interface TrackedLink {
  index: number;
  url: string;
}

/** Numbers a message's tracked destinations; the same URL in several places (or parts) shares one index. */
export class TrackedLinks {
  readonly list: TrackedLink[] = [];
  private readonly byUrl = new Map<string, string>();

  constructor(private readonly sign: (link: TrackedLink) => string) {}

  trackingUrl(url: string): string {
    let tracking = this.byUrl.get(url);
    if (tracking === undefined) {
      const link = { index: this.list.length, url };
      tracking = this.sign(link);
      this.list.push(link);
      this.byUrl.set(url, tracking);
    }
    return tracking;
  }
}

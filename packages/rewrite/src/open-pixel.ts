import { escapeHtmlAttribute } from './html-links';

/*
 * A 1×1 transparent image that takes no space: width/height attributes for clients that
 * ignore CSS (Outlook), inline CSS for the rest. Not display:none — some clients then
 * never fetch the image at all.
 */
const PIXEL_STYLE =
  'display:block;width:1px;height:1px;max-width:1px;max-height:1px;border:0;margin:0;padding:0;overflow:hidden;opacity:0';

export function openPixelHtml(src: string): string {
  return `<img src="${escapeHtmlAttribute(src)}" width="1" height="1" alt="" border="0" style="${PIXEL_STYLE}">`;
}

import type { FieldIssue } from './api-client';

/** Field errors keyed by the form's field name; `form` holds what belongs to no field. */
export type FieldErrors = Record<string, string>;

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'];

/** "must be a domain name…" → "Must be a domain name…": the API's messages read as the rest of a sentence. */
const sentence = (message: string) => message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? '' : '.');

/**
 * Maps the API's 400 issues to the form's fields, in words a person reads beside the field:
 * `excludedDomains[1]` becomes "The second domain (“x”) must…" under the excluded domains.
 */
export function fieldErrorsOf(issues: FieldIssue[], values: Record<string, unknown> = {}): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, text: string) => {
    errors[field] = errors[field] ? `${errors[field]} ${text}` : text;
  };
  for (const issue of issues) {
    const listItem = /^([A-Za-z]+)\[(\d+)\]$/.exec(issue.field);
    if (listItem) {
      const [, field, index] = listItem;
      const list = values[field];
      const value = Array.isArray(list) ? list[Number(index)] : undefined;
      const which = ORDINALS[Number(index)] ?? `number ${Number(index) + 1}`;
      add(field, `The ${which} one${typeof value === 'string' ? ` (“${value}”)` : ''} ${issue.message.replace(/\.$/, '')}.`);
    } else if (issue.field === '(root)' || !(issue.field in values)) {
      add('form', sentence(issue.field === '(root)' ? issue.message : `${issue.field} ${issue.message}`));
    } else {
      add(issue.field, sentence(issue.message));
    }
  }
  return errors;
}

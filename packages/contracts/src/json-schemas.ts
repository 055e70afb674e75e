import { z } from 'zod';
import { outboundMessageJobSchema, outboundReadyJobSchema, trackingEventSchema } from './payloads';

/*
 * The job and event formats as JSON Schema (draft 2020-12), for platforms not written in
 * TypeScript. Generated from the validators themselves, so the files cannot drift from what
 * the apps accept: `npm run schemas` writes them to packages/contracts/schema/, and a test
 * fails when the committed files are stale. Checks written as code carry a JSON Schema
 * pattern as metadata (see payloads.ts); the event time window cannot be expressed.
 */

export interface JsonSchemaFile {
  /** The file's name in packages/contracts/schema/. */
  readonly fileName: string;
  readonly schema: Record<string, unknown>;
}

const PUBLISHED = [
  {
    fileName: 'outbound-message-job.schema.json',
    title: 'OutboundMessageJob',
    description: 'The data of a job on the `outbound-messages` queue: a message the platform hands over for tracking.',
    validator: outboundMessageJobSchema,
  },
  {
    fileName: 'outbound-ready-job.schema.json',
    title: 'OutboundReadyJob',
    description: 'The data of a job on the `outbound-ready` queue: the message to send, tracked or untouched.',
    validator: outboundReadyJobSchema,
  },
  {
    fileName: 'tracking-event.schema.json',
    title: 'TrackingEvent',
    description: 'The data of a job on the `tracking-events` queue: a `message` (from the rewriter), an `open` or a `click` (from the tracker).',
    validator: trackingEventSchema,
  },
] as const;

/**
 * Every published schema. `io: 'input'` describes what a producer may send: unknown keys are
 * allowed (the validators strip them), so a producer may add fields before consumers know them.
 */
export function jsonSchemaFiles(): JsonSchemaFile[] {
  return PUBLISHED.map(({ fileName, title, description, validator }) => {
    const { $schema, ...body } = z.toJSONSchema(validator, { io: 'input', target: 'draft-2020-12' });
    return { fileName, schema: { $schema, title, description, ...body } };
  });
}

/** A schema as it is written to its file. */
export function jsonSchemaText(file: JsonSchemaFile): string {
  return `${JSON.stringify(file.schema, null, 2)}\n`;
}

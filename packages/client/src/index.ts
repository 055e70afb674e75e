export { MailbeaconClient } from './mailbeacon-client';
export type { OutgoingMessage, ReadyMessage, ConsumeOptions, ReadyConsumer } from './mailbeacon-client';
export type { QueueSettings } from './queue-settings';

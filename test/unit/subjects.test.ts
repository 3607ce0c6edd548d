import { describe, expect, test } from 'vitest';
import {
  escapeToken,
  eventSubject,
  kvKey,
  msgId,
  parseMsgId,
  unescapeToken,
} from '../../src/nats/subjects.js';

describe('subjects', () => {
  test('plain names pass through; dots, wildcards, spaces and non-ASCII are escaped reversibly', () => {
    expect(eventSubject('sluice', 'erp', 'public', 'custmast', 'c')).toBe('sluice.erp.public.custmast.c');
    for (const raw of ['my.table', 'a*b', 'x>y', 'with space', 'tab\tle', 'Zoë', '100%', '']) {
      const t = escapeToken(raw);
      expect(t).not.toMatch(/[.*>\s]/);
      expect(/^[\x21-\x7e]+$/.test(t)).toBe(true);
      expect(unescapeToken(t)).toBe(raw);
    }
    expect(escapeToken('a.b')).not.toBe(escapeToken('a_b'));
  });

  test('Nats-Msg-Id is <source>:<position>:<index> and parses back even when the position has colons', () => {
    expect(msgId('erp', '0/16B3748', 3)).toBe('erp:0/16B3748:3');
    expect(parseMsgId('erp:snapshot@0/1:42')).toEqual({ source: 'erp', position: 'snapshot@0/1', index: 42 });
    expect(parseMsgId('erp:a:b:7')).toEqual({ source: 'erp', position: 'a:b', index: 7 });
    expect(parseMsgId('garbage')).toBeNull();
  });

  test('KV keys are <kind>.<source>, one token, with no % (which KV keys do not take)', () => {
    expect(kvKey('offset', 'erp')).toBe('offset.erp');
    expect(kvKey('lease', 'erp')).toBe('lease.erp');
    expect(kvKey('webhook-lease', 'payroll')).toBe('webhook-lease.payroll');
    expect(kvKey('status', 'a.b c')).toBe('status.a_2Eb_20c');
    expect(kvKey('lease', 'Zoë')).toMatch(/^lease\.[\w-]+$/);
  });
});

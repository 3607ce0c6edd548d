import { describe, expect, test } from 'vitest';
import { hpubFrame, parsePubAck } from '../../src/nats/publisher-wire.js';

describe('hpubFrame', () => {
  test('counts header and total sizes in UTF-8 bytes', () => {
    const frame = Buffer.from(
      hpubFrame(
        { subject: 'a.b', payload: '{"n":"Zoë ☃"}', msgId: 's:1:0', headers: 'Sluice-Key: {"id":"é"}\r\n' },
        '_INBOX.x.7',
      ),
    ).toString('utf8');
    const head = 'NATS/1.0\r\nNats-Msg-Id: s:1:0\r\nSluice-Key: {"id":"é"}\r\n\r\n';
    const hlen = Buffer.byteLength(head);
    const total = hlen + Buffer.byteLength('{"n":"Zoë ☃"}');
    expect(frame).toBe(`HPUB a.b _INBOX.x.7 ${hlen} ${total}\r\n${head}{"n":"Zoë ☃"}\r\n`);
  });

  test('a binary payload gives the same frame as its string', () => {
    const req = { subject: 's', msgId: 'm', payload: 'héllo' };
    expect(Buffer.from(hpubFrame({ ...req, payload: Buffer.from('héllo') }, 'r'))).toEqual(
      Buffer.from(hpubFrame(req, 'r')),
    );
  });
});

describe('parsePubAck', () => {
  const ack = (s: string) => parsePubAck(new TextEncoder().encode(s));

  test('reads the common shapes without JSON.parse and agrees with it', () => {
    for (const body of [
      '{"stream":"SLUICE","seq":1}',
      '{"stream":"SLUICE","seq":123456789}',
      '{"stream":"SLUICE","seq":42,"duplicate":true}',
      '{"stream":"SLUICE","domain":"hub","seq":42}',
    ]) {
      const parsed = JSON.parse(body) as { seq: number; duplicate?: boolean };
      const got = ack(body)!;
      expect(got.seq).toBe(parsed.seq);
      expect(got.duplicate ?? false).toBe(parsed.duplicate ?? false);
      expect(got.error).toBeUndefined();
    }
  });

  test('errors and odd bodies fall back to JSON', () => {
    expect(
      ack('{"error":{"code":503,"err_code":10077,"description":"maximum bytes exceeded"}}')?.error,
    ).toEqual({ code: 503, err_code: 10077, description: 'maximum bytes exceeded' });
    expect(ack('{"stream":"S","seq":3,"error":{"code":400}}')?.error).toEqual({ code: 400 });
    expect(ack('not json')).toBeNull();
  });

  test('reads from a view into a larger buffer', () => {
    const big = Buffer.from('xxxx{"stream":"S","seq":77}yyyy');
    expect(parsePubAck(big.subarray(4, big.length - 4))?.seq).toBe(77);
  });
});

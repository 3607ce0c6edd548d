import { describe, expect, it } from 'vitest';
import { nextPageLink } from '../../../src/http/resource-reads.js';

describe('nextPageLink', () => {
  const link = (u: string) => nextPageLink(new URL(u, 'http://h'), 'abc_-1');
  it('appends the cursor to the query as sent, or replaces the one there', () => {
    expect(link('/api/c')).toBe('/api/c?cursor=abc_-1');
    expect(link('/api/c?')).toBe('/api/c?cursor=abc_-1');
    expect(link('/api/c?name=like.A%20B*&limit=5')).toBe('/api/c?name=like.A%20B*&limit=5&cursor=abc_-1');
    expect(link('/api/c?limit=5&cursor=old&x=1')).toBe('/api/c?limit=5&cursor=abc_-1&x=1');
    const parsed = new URL(link('/api/c?or=(a.eq.1,b.in.(x,y))'), 'http://h').searchParams;
    expect([parsed.get('or'), parsed.get('cursor')]).toEqual(['(a.eq.1,b.in.(x,y))', 'abc_-1']);
  });
});

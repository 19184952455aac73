// Realistic stand-in values from @faker-js/faker, one per original value: the faker is reseeded
// before each value from a keyed hash of (seed, kind, value), so the same input always gets the
// same stand-in within an environment, and the stand-in says nothing about the input without the
// key. Faker's own Mersenne Twister costs ~27 µs to reseed; the small sfc32 generator below costs
// nanoseconds, which is what keeps `fake` columns near the speed of the others.

import { createHmac } from 'node:crypto';
import { Faker, base, en } from '@faker-js/faker';
import type { FakeKind } from './policy';

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), state set directly from 128 bits. */
class Sfc32 {
  #s = new Int32Array(4);

  /** Faker calls `next` and `seed` unbound. */
  readonly next = (): number => {
    const s = this.#s;
    let a = s[0];
    let b = s[1];
    let c = s[2];
    let d = s[3];
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    s[0] = a;
    s[1] = b;
    s[2] = c;
    s[3] = d;
    return (t >>> 0) / 4294967296;
  };

  readonly seed = (seed: number | number[]): void => {
    const words = Array.isArray(seed) ? seed : [seed, 0, 0, 0];
    for (let k = 0; k < 4; k++) this.#s[k] = words[k] ?? 0;
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[3] = 1;
    for (let k = 0; k < 12; k++) this.next(); // mix the seed through the state
  };
}

const GENERATORS: Record<FakeKind, (f: Faker) => string> = {
  name: (f) => `${f.person.firstName()} ${f.person.lastName()}`,
  first_name: (f) => f.person.firstName(),
  last_name: (f) => f.person.lastName(),
  // example.com/.net/.org are reserved (RFC 2606): a fake address can never reach a real person.
  email: (f) => f.internet.exampleEmail().toLowerCase(),
  // 555-0100…555-0199 are the North American numbers reserved for fiction.
  phone: (f) =>
    `+1-${f.number.int({ min: 201, max: 989 })}-555-01${String(f.number.int({ min: 0, max: 99 })).padStart(2, '0')}`,
  address: (f) => `${f.location.streetAddress()}, ${f.location.city()}`,
  company: (f) => f.company.name(),
};

/** Makes stand-ins of one kind, keyed by `key` (the environment's fake key) and `seed`. */
export function fakeGenerator(kind: FakeKind, key: Buffer, seed: number): (original: string | Buffer) => string {
  const randomizer = new Sfc32();
  const faker = new Faker({ locale: [en, base], randomizer });
  const generate = GENERATORS[kind];
  const tag = `${seed}\u0000${kind}\u0000`;
  const words = [0, 0, 0, 0];
  return (original) => {
    const digest = createHmac('sha256', key).update(tag).update(original).digest();
    for (let k = 0; k < 4; k++) words[k] = digest.readInt32LE(k * 4);
    randomizer.seed(words);
    return generate(faker);
  };
}

import { loadLadder, parseLadder } from './src/config/ladder';
console.log(JSON.stringify(loadLadder('examples/ladder.yaml'), null, 1).slice(0, 1500));
const tries = [
`name: x
layers:
  - name: a
    seed: { rows: many, seed: -1 }
    gates:
      - { type: quality, threshold: 0.6, options: { metric: f1, extra: 1 } }
      - { type: nope }
      - { type: latency }
      - { type: latency, threshold: 10, name: Bad_Name }
      - type: schema
      - type: schema
    approval: { required: 3, approvers: [alice, " Alice ", bob], expiry: 3 days }
    ttl: 0s
    colour: red
  - name: a
    seed: { rows: 1, seed: 1 }
    gates: []
    approval: manual
  - name: b
    seed: { rows: 1.5, seed: 1 }
    gates: []
    approval: { required: 0, approvers: [alice] }
  - name: c
    seed: { rows: 10, seed: 1 }
    gates: []
`,
`name: x
layers: []`,
`name: x`,
`- a`,
];
for (const t of tries) { try { parseLadder(t, 'test.yaml'); console.log('OK?!'); } catch (e) { console.log((e as Error).message); console.log('---'); } }

// pure-rand 8 publishes its modules only through package.json "exports" subpaths, which the
// project's `moduleResolution: node` cannot see. Node resolves them at run time, so these
// declarations point the type checker at the very same typings under lib/.
// (No top-level import/export: this file must stay a global script for `declare module` to work.)

declare module 'pure-rand/generator/xoroshiro128plus' {
  export { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/lib/generator/xoroshiro128plus';
}

declare module 'pure-rand/distribution/uniformFloat64' {
  export { uniformFloat64 } from 'pure-rand/lib/distribution/uniformFloat64';
}

declare module 'pure-rand/distribution/uniformInt' {
  export { uniformInt } from 'pure-rand/lib/distribution/uniformInt';
}

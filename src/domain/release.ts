/** A version deployed into an environment, copied into the environment so it can run again later. */
export interface Release {
  name: string;
  version: string;
  digest: string;
  /** Directory holding the release's copy of the artifacts. */
  dir: string;
  serve: string[];
}

// Node scripts import the collector's pure modules (the config schema) but never its bindings;
// `Env` is named in those modules' types, so Node's type check only needs the name.
// (worker-configuration.d.ts cannot be used here: it imports the whole Worker for its types.)
type Env = Record<string, unknown>;

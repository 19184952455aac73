import { ensureClusterTools } from './src/temporal/cluster-tools';
ensureClusterTools().then((r) => console.log('done', r), (e) => { console.error(e); process.exit(1); });

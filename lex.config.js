// Generates typed schemas (src/lexicon/generated/, not committed) from the lexicon JSON in lexicons/,
// the single source of truth for Atrarium's record shapes.
import { defineLexiconConfig } from '@atcute/lex-cli';

export default defineLexiconConfig({
	generate: {
		files: ['lexicons/**/*.json'],
		outdir: 'src/lexicon/generated/',
		imports: ['@atcute/atproto'],
	},
});

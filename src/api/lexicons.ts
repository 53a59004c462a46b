/** GET /lexicons/<nsid>.json: the Atrarium lexicon documents, for other atproto apps to fetch. */
import type { Hono } from 'hono';
import { notFound } from '../errors';
import { LEXICON_DOCUMENTS } from '../lexicon/documents';

export function registerLexiconRoutes(app: Hono<{ Bindings: Env }>): void {
	app.get('/lexicons', (c) => c.json({ lexicons: [...LEXICON_DOCUMENTS.keys()].map((nsid) => ({ nsid, url: `/lexicons/${nsid}.json` })) }));
	app.get('/lexicons/:file', (c) => {
		const nsid = c.req.param('file').replace(/\.json$/, '');
		const doc = LEXICON_DOCUMENTS.get(nsid);
		if (!doc) throw notFound(`No lexicon ${nsid}; known: ${[...LEXICON_DOCUMENTS.keys()].join(', ')}`);
		c.header('Cache-Control', 'public, max-age=300');
		c.header('Access-Control-Allow-Origin', '*');
		return c.json(doc);
	});
}

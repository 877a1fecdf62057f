import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { api } from './support/client';

const DOCUMENT = path.resolve(__dirname, '..', 'docs', 'openapi.yaml');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI document', async () => {
    await expect(SwaggerParser.validate(DOCUMENT)).resolves.toBeDefined();
  });

  it('documents only routes the running stack serves', async () => {
    const document = (await SwaggerParser.dereference(DOCUMENT)) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([route, item]) =>
      METHODS.filter((method) => method in item).map((method) => ({ method, route })),
    );
    expect(operations.length).toBeGreaterThan(20);
    const unserved: string[] = [];
    for (const { method, route } of operations) {
      const concrete = route.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      // No credentials: a served route answers 401 (or 200/400 when public), never the 404 of a missing route.
      const withBody = method !== 'get' && method !== 'delete';
      const response = await api(concrete, {
        method: method.toUpperCase(),
        ...(withBody ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      // The status is all this needs; a visitor's event stream would never end.
      await response.body?.cancel();
      if (response.status === 404) unserved.push(`${method.toUpperCase()} ${route}`);
    }
    expect(unserved).toEqual([]);
  });
});

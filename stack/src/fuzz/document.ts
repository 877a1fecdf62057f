import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';

/** The subset of JSON Schema docs/openapi.yaml uses, as the generator reads it. */
export interface Schema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

/** One method on one path of the document. */
export interface Operation {
  /** `POST /api/auth/register`: the name in summaries and failures. */
  id: string;
  method: string;
  /** The path template, `/api/users/{id}`. */
  route: string;
  parameters: Parameter[];
  /** The application/json request body's schema, when the operation takes one. */
  body?: Schema;
  bodyRequired: boolean;
  /** No security requirement, or an empty one among the alternatives: a visitor may call it. */
  public: boolean;
  /** Security schemes the operation names (bearer, refreshCookie). */
  security: string[];
  /** text/event-stream answers: the runner reads the head and closes. */
  streams: boolean;
}

export const DOCUMENT = path.resolve(__dirname, '..', '..', '..', 'docs', 'openapi.yaml');

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

interface RawOperation {
  parameters?: RawParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  security?: Record<string, unknown>[];
  responses?: Record<string, { content?: Record<string, unknown> }>;
}
interface RawParameter {
  name: string;
  in: Parameter['in'];
  required?: boolean;
  schema?: Schema;
}
interface RawDocument {
  security?: Record<string, unknown>[];
  paths: Record<string, Record<string, unknown> & { parameters?: RawParameter[] }>;
}

/**
 * Every operation of the dereferenced document. Read at run time, so the generator follows
 * whatever the document declares now (limits, patterns, new routes).
 */
export async function loadOperations(file = DOCUMENT): Promise<Operation[]> {
  const document = (await SwaggerParser.dereference(file)) as unknown as RawDocument;
  const operations: Operation[] = [];
  for (const [route, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const raw = item[method] as RawOperation | undefined;
      if (!raw) continue;
      // Operation parameters override path-level ones of the same name and place.
      const byKey = new Map<string, RawParameter>();
      for (const parameter of [...(item.parameters ?? []), ...(raw.parameters ?? [])]) byKey.set(`${parameter.in}:${parameter.name}`, parameter);
      const security = raw.security ?? document.security ?? [];
      const json = raw.requestBody?.content?.['application/json'];
      operations.push({
        id: `${method.toUpperCase()} ${route}`,
        method: method.toUpperCase(),
        route,
        parameters: [...byKey.values()].map((parameter) => ({
          name: parameter.name,
          in: parameter.in,
          required: parameter.required ?? parameter.in === 'path',
          schema: parameter.schema ?? { type: 'string' },
        })),
        body: json?.schema,
        bodyRequired: raw.requestBody?.required ?? false,
        public: security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0),
        security: [...new Set(security.flatMap((requirement) => Object.keys(requirement)))],
        streams: Object.values(raw.responses ?? {}).some((response) => response.content?.['text/event-stream'] !== undefined),
      });
    }
  }
  return operations;
}

import path from 'node:path';
import ts from 'typescript';

/**
 * Checks dashboard JSON against Grafana's published schema: the types @grafana/schema generates
 * from Grafana's CUE kinds (the dashboard kind, and the panel options and field config of every
 * panel plugin the dashboards use), at the version of the Grafana image the stack runs. Each
 * dashboard is type-checked as an object literal of that type, so a missing required field, a
 * value of the wrong type or outside an enum, and a key the schema does not know all fail.
 *
 * Two adaptations: the schema's TypeScript enums are widened to their values (JSON holds
 * "line", not GraphDrawStyle.Line), and a Prometheus query's own fields (expr, legendFormat...)
 * are spelled out here, because @grafana/schema 11.3 publishes the common DataQuery only (the
 * Prometheus data source's kind lives in Grafana's source tree).
 */
const PRELUDE = `
import type { Dashboard, DataQuery, FieldConfig, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';

/** The schema as JSON spells it: an enum is any of its values. */
type Json<T> = T extends string
  ? \`\${T}\`
  : T extends number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

interface PrometheusQuery extends Json<DataQuery> {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
}

/** A panel of plugin \`Type\`, its options and its field config's custom part checked against that plugin's schema. */
type PluginPanel<Type extends string, Options, Custom> = Omit<Json<Panel>, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  type: Type;
  options: Json<Options>;
  fieldConfig: {
    defaults: Omit<Json<FieldConfig>, 'custom'> & { custom?: Json<Custom> };
    overrides: Json<FieldConfigSource['overrides']>;
  };
  targets: PrometheusQuery[];
};

type BoardPanel =
  | PluginPanel<'timeseries', timeseries.Options, timeseries.FieldConfig>
  | PluginPanel<'stat', stat.Options, Record<string, never>>
  | PluginPanel<'table', table.Options, table.FieldConfig>
  | (Omit<Json<RowPanel>, 'panels'> & { panels: never[] });

type BoardDashboard = Omit<Json<Dashboard>, 'panels'> & { panels: BoardPanel[] };
`;

export interface SchemaProblem {
  file: string;
  message: string;
}

/** Type-checks each dashboard (name -> JSON text) against the schema; no problems means valid. */
export function checkDashboards(dashboards: Record<string, string>): SchemaProblem[] {
  const root = path.resolve(__dirname, '..', '..', '..');
  const sources = new Map(
    Object.entries(dashboards).map(([name, json]) => [
      path.join(root, 'stack', 'test', `__dashboard_${name.replace(/\W/g, '_')}.ts`),
      { name, text: `${PRELUDE}\nexport const dashboard: BoardDashboard = ${json};\n` },
    ]),
  );
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, version, onError, create) => {
    const source = sources.get(path.resolve(file));
    return source ? ts.createSourceFile(file, source.text, version, true) : getSourceFile(file, version, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => sources.has(path.resolve(file)) || fileExists(file);
  const program = ts.createProgram([...sources.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const source = diagnostic.file ? sources.get(path.resolve(diagnostic.file.fileName)) : undefined;
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
    const prelude = PRELUDE.split('\n').length + 1;
    return {
      file: source ? `${source.name}${where ? `:${where.line + 2 - prelude}` : ''}` : (diagnostic.file?.fileName ?? '?'),
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
    };
  });
}

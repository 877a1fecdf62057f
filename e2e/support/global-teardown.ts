import { removeNamespace } from '../../stack/src/cleanup';
import { forgetEnvironment, loadEnvironment } from './environment';

/** Stops every process the setup started (by pid) and removes the run's data from the shared servers. */
export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.e2eStack;
  const { namespace } = loadEnvironment();
  forgetEnvironment();
  await new Promise((resolve) => (globalThis.e2eControl ? globalThis.e2eControl.close(resolve) : resolve(undefined)));
  if (!stack) return;
  await stack.stop();
  await removeNamespace(stack.plan, namespace);
}

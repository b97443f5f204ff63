/**
 * The shape every writing sink shares: items are written one at a time in order (awaiting each
 * write, so a slow disk or encoder pushes back on the pipeline's flow control), and `finish` runs
 * exactly once when the input ends, errs, or is unsubscribed, so outputs are finalised whatever
 * happens (playable MP4, complete NDJSON). An error from the input is passed on after finishing.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

export function serialSink<T>(write: (item: T) => Promise<void> | void, finish: (reason: 'complete' | 'error' | 'unsubscribe') => Promise<void>): OperatorFunction<T, T> {
  return (input$) =>
    new Observable<T>((subscriber) => {
      let chain: Promise<void> = Promise.resolve();
      let finished: Promise<void> | undefined;
      let failed = false;
      const finishOnce = (reason: 'complete' | 'error' | 'unsubscribe'): Promise<void> => (finished ??= finish(reason));
      const sub = input$.subscribe({
        next(item) {
          chain = chain.then(async () => {
            if (failed) return;
            try {
              await write(item);
            } catch (err) {
              failed = true;
              await finishOnce('error').catch(() => undefined);
              subscriber.error(err);
              return;
            }
            subscriber.next(item);
          });
        },
        error(err: unknown) {
          chain = chain.then(async () => {
            await finishOnce('error').catch(() => undefined);
            subscriber.error(err);
          });
        },
        complete() {
          chain = chain.then(async () => {
            if (failed) return;
            try {
              await finishOnce('complete');
            } catch (err) {
              subscriber.error(err);
              return;
            }
            subscriber.complete();
          });
        },
      });
      return () => {
        sub.unsubscribe();
        void chain.then(() => finishOnce('unsubscribe')).catch(() => undefined);
      };
    });
}

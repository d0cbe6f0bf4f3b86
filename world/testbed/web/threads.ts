/**
 * A counting semaphore: one Puma worker serves at most MAX_THREADS requests
 * at once and the rest wait, so web saturation looks like Puma's (queue time
 * grows, not errors). One difference stays: a Puma worker with no free thread
 * stops accepting and leaves new connections in the socket's backlog for
 * another worker, while a Node process accepts them and queues them here.
 */
export function webThreads(limit: number) {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return {
    acquire: () =>
      new Promise<void>((resolve) => {
        if (busy < limit) {
          busy++;
          resolve();
        } else waiting.push(resolve);
      }),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else busy--;
    },
  };
}

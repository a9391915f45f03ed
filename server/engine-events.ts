// The engine worker's events, passed on: metrics and samples as notifications, job states to JobStates, log lines
// to the client's log.
import type { Connection } from 'vscode-languageserver/node';
import type { EngineListener } from './engine.js';
import type { JobStates } from './job-states.js';
import * as P from './protocol.js';

export function engineEvents(connection: Connection, jobs: JobStates): EngineListener {
  return (e) => {
    switch (e.event) {
      case 'metrics':
        connection.sendNotification(P.Metrics.type, e.params);
        jobs.metrics(e.params);
        break;
      case 'samples':
        connection.sendNotification(P.Samples.type, e.params);
        break;
      case 'jobState':
        jobs.set(e.params);
        break;
      case 'log':
        connection.console[e.level === 'warn' ? 'warn' : e.level](e.message);
        break;
      case 'crashed':
        connection.console.error(e.restarting ? `${e.reason}; starting a new engine. Training since the last checkpoint is lost: resume from it.` : e.reason);
        jobs.failActive(e.reason);
        break;
    }
  };
}

// Worker of the hand-rolled pool: child_process.fork with 'advanced' serialization, one message
// per task ({ id, name, arg }) and one per result ({ id, value }).
import { echo, size } from './tasks.mjs';

const fns = { echo, size };
process.on('message', (m) => process.send({ id: m.id, value: fns[m.name](m.arg) }));

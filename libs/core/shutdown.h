#pragma once

namespace sundesk {

// SIGTERM/SIGINT handling without async-signal-unsafe handlers: block both signals in
// every thread (call before any thread starts, so new threads inherit the mask), then
// wait for one synchronously in main.
void BlockTerminationSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace sundesk

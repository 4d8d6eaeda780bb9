/*
 * A single updating progress line on stderr for long runs (cli/progress.c): drawn only when
 * stderr is a terminal and -q is not given.  One per process.
 */
#ifndef EVBUS_CLI_PROGRESS_H
#define EVBUS_CLI_PROGRESS_H

#include <stdint.h>

struct evbus_cli_s;

/** Begin a run of the subcommand what (a static string).  Main thread, before any callback
 *  that counts deliveries can run. */
void evbus_cli_progress_start(const struct evbus_cli_s *cli, const char *what);
/** events so far (main thread); redraws at most 5 times a second, the first call at once. */
void evbus_cli_progress_events(uint64_t events);
/** One message delivered (ok) or not: from any thread (delivery callbacks). */
void evbus_cli_progress_delivery(int ok);
/** Draw the final counts and take the line off the screen; later calls draw nothing. */
void evbus_cli_progress_stop(uint64_t events);
/** Around any other stderr line (evbus_cli_err does it): take the line off the screen and
 *  keep it off until resume.  Any thread; pause and resume go in pairs. */
void evbus_cli_progress_pause(void);
void evbus_cli_progress_resume(void);

#endif

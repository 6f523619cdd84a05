/*
 * TAP-style checks shared by the C test programs: one "ok N" / "not ok N"
 * line per check; main() prints "N checks, N failed" and exits non-zero on a
 * failure.
 */
#ifndef COPILOT_TEST_CHECK_H
#define COPILOT_TEST_CHECK_H

#include <stdio.h>

#include "copilot.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                \
    do {                                                                \
        checks++;                                                       \
        if (cond) {                                                     \
            printf("ok %d - ", checks);                                 \
        } else {                                                        \
            failures++;                                                 \
            printf("not ok %d - (%s:%d) ", checks, __FILE__, __LINE__); \
        }                                                               \
        printf(__VA_ARGS__);                                            \
        printf("\n");                                                   \
        fflush(stdout);                                                 \
    } while (0)

/* Runs a call that refers to the macro's own `err` and checks its status.
 * (The call runs first: `err` must not be read as an argument beside it.) */
#define EXPECT_STATUS(want, what, ...)              \
    do {                                            \
        copilot_error *err = NULL;                  \
        copilot_status status_ = (__VA_ARGS__);     \
        expect_status(status_, want, err, what);    \
    } while (0)

/* A failure must carry an error with that status and a message; success none. */
static void expect_status(copilot_status got, copilot_status want, copilot_error *err, const char *what) {
    const char *msg = err ? copilot_error_message(err) : "";
    int carried = want == COPILOT_OK ? err == NULL
                                     : err != NULL && *msg && copilot_error_status(err) == want;
    CHECK(got == want && carried, "%s -> status %d (want %d)%s%s", what, (int)got, (int)want, *msg ? ": " : "",
          msg);
    copilot_error_free(err);
}

#endif

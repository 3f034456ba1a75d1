/* tests/unit/unit.h - the one main() every Check unit test shares. */
#ifndef GP_TESTS_UNIT_H
#define GP_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Run every test of the suite (each in its own fork: a crash fails one
 * test, not the program) and return the process exit status. */
static inline int unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

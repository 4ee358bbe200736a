/* Runs the metadata module's check suites: the image, the planner, ISR
 * changes and leader election. */
#include <stdlib.h>

#include <check.h>

#include "log.h"

Suite *image_suite(void);
Suite *plan_suite(void);
Suite *isr_suite(void);
Suite *elect_suite(void);

int main(void)
{
    /* Rejected batches log a warning by design; keep test output readable. */
    cairn_log_init("test", 0, CAIRN_LOG_ERROR);
    SRunner *sr = srunner_create(image_suite());
    srunner_add_suite(sr, plan_suite());
    srunner_add_suite(sr, isr_suite());
    srunner_add_suite(sr, elect_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Sealed datasets in the job: replaced by the streaming ESDK decoder. */
#include <stdlib.h>

#include "auction/sb_job_internal.h"
#include "common/sb_mem.h"

struct sb_job_sealed {
	int unused;
};

SB_RESULT sb_job_sealed_new(struct sb_job_sealed **out)
{
	return sb_calloc(1, sizeof(**out), (void **)out);
}

void sb_job_sealed_free(struct sb_job_sealed *s)
{
	free(s);
}

SB_RESULT sb_job_sealed_feed(struct sb_job *job, size_t party, struct sb_slice chunk, bool last)
{
	(void)chunk;
	(void)last;
	SB_BAIL_MSG(SB_ERR_UNSUPPORTED, "party %s: sealed inputs are not supported yet",
		    job->manifest.parties[party].name);
}

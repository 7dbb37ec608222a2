/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netfilter probes: netfilter.hook("HOOK").pf("PF")[.priority(P)]. Each
 * point is a struct nf_hook_ops registered with nf_register_net_hook() in
 * every network namespace: a pernet subsystem, registered when the session
 * starts (after the begin probes), gives each namespace its own copies of
 * the ops and registers them in the namespaces there are and
 * in each one created later, so packets in containers are seen too; its
 * exit unregisters them when a namespace goes and when the session stops.
 * synchronize_net() then waits for hook functions still running on other
 * CPUs, since the kernel calls hooks under rcu_read_lock(). A point's
 * registration is reported (and counted) as it went in the initial
 * namespace; another namespace refusing one is silent.
 *
 * The hook function has had one prototype since 4.4,
 *   unsigned int fn(void *priv, struct sk_buff *skb,
 *                   const struct nf_hook_state *state),
 * and nf_register_net_hook() exists since 4.13, so no feature probe is
 * needed between 5.10 and 7.x. The handler's target variables come in
 * slots, as a tracepoint's arguments do: $hooknum, $skb, $in, $out, and
 * the address of the verdict, which starts as NF_ACCEPT and which a
 * guru-mode script may set. Only NF_DROP (with or without an errno in its
 * upper bits), NF_ACCEPT and NF_QUEUE are passed on: NF_STOLEN would leak
 * the packet, NF_REPEAT can loop forever and NF_STOP is no longer a
 * verdict hooks may return, so those count as NF_ACCEPT.
 *
 * A family without hooks in this kernel (ARP or bridging when no module
 * has enabled them) refuses the registration: a warning, as for kprobes.
 */

struct stp_netfilter {
	const struct stp_probe *probe;
	u8 pf;                /* NFPROTO_* */
	unsigned int hooknum; /* NF_INET_*, NF_ARP_*, NF_BR_* */
	int priority;
	bool optional;        /* probe P? : a failed registration is silent */
	int init_rc;          /* its registration in the initial namespace */
};

#ifdef CONFIG_NETFILTER
/* The slots of c->tp_args the generated code reads (sema's NETFILTER_VARS). */
enum {
	STP_NF_HOOKNUM,
	STP_NF_SKB,
	STP_NF_IN,
	STP_NF_OUT,
	STP_NF_VERDICT,
	STP_NF_NSLOTS,
};

static unsigned int stp_netfilter_hook(void *priv, struct sk_buff *skb,
				       const struct nf_hook_state *state)
{
	struct stp_netfilter *p = priv;
	int verdict = NF_ACCEPT;
	unsigned long args[STP_NF_NSLOTS];

	args[STP_NF_HOOKNUM] = state->hook;
	args[STP_NF_SKB] = (unsigned long)skb;
	args[STP_NF_IN] = (unsigned long)state->in;
	args[STP_NF_OUT] = (unsigned long)state->out;
	args[STP_NF_VERDICT] = (unsigned long)&verdict;
	stp_probe_run_args(p->probe, STP_PT_NETFILTER, STP_RUNNING, args);
	switch (verdict & NF_VERDICT_MASK) {
	case NF_DROP:
	case NF_ACCEPT:
	case NF_QUEUE:
		return (unsigned int)verdict;
	default:
		return NF_ACCEPT;
	}
}
#endif

#ifdef CONFIG_NETFILTER
/*
 * The points' ops in one namespace. (Not net_generic(): its size is fixed
 * at build time on 7.x, and ours depends on the script.) The pernet
 * calls for one namespace never overlap, but different namespaces' may:
 * stp_nf_lock guards the list.
 */
struct stp_nf_net {
	struct list_head list;
	struct net *net;
	struct nf_hook_ops ops[];
};

/* The points the pernet subsystem serves (the script's). */
static struct stp_netfilter *stp_nf_points;
static int stp_nf_npoints;
static bool stp_nf_pernet_registered;
static LIST_HEAD(stp_nf_nets);
static DEFINE_MUTEX(stp_nf_lock);

static int stp_nf_net_init(struct net *net)
{
	struct stp_nf_net *nn;
	int i, rc;

	nn = kzalloc(struct_size(nn, ops, stp_nf_npoints), GFP_KERNEL);
	if (!nn) {
		if (net_eq(net, &init_net))
			for (i = 0; i < stp_nf_npoints; i++)
				stp_nf_points[i].init_rc = -ENOMEM;
		/* Never fail: that would fail the namespace's creation. */
		return 0;
	}
	nn->net = net;
	for (i = 0; i < stp_nf_npoints; i++) {
		struct stp_netfilter *p = &stp_nf_points[i];

		nn->ops[i].hook = stp_netfilter_hook;
		nn->ops[i].priv = p;
		nn->ops[i].pf = p->pf;
		nn->ops[i].hooknum = p->hooknum;
		nn->ops[i].priority = p->priority;
		rc = nf_register_net_hook(net, &nn->ops[i]);
		/* Not registered here: not unregistered by the exit. */
		if (rc != 0)
			nn->ops[i].hook = NULL;
		if (net_eq(net, &init_net))
			p->init_rc = rc;
	}
	mutex_lock(&stp_nf_lock);
	list_add(&nn->list, &stp_nf_nets);
	mutex_unlock(&stp_nf_lock);
	return 0;
}

static void stp_nf_net_exit(struct net *net)
{
	struct stp_nf_net *nn, *found = NULL;
	int i;

	mutex_lock(&stp_nf_lock);
	list_for_each_entry(nn, &stp_nf_nets, list) {
		if (nn->net == net) {
			found = nn;
			list_del(&nn->list);
			break;
		}
	}
	mutex_unlock(&stp_nf_lock);
	if (!found)
		return;
	for (i = 0; i < stp_nf_npoints; i++)
		if (found->ops[i].hook)
			nf_unregister_net_hook(net, &found->ops[i]);
	/* The kernel frees its hook entries only after a grace period. */
	synchronize_net();
	kfree(found);
}

static struct pernet_operations stp_nf_pernet = {
	.init = stp_nf_net_init,
	.exit = stp_nf_net_exit,
};
#endif

static void stp_netfilters_unregister(struct stp_netfilter *ps, int n)
{
#ifdef CONFIG_NETFILTER
	if (!stp_nf_pernet_registered || ps != stp_nf_points)
		return;
	unregister_pernet_subsys(&stp_nf_pernet);
	stp_nf_pernet_registered = false;
	/* No hook function may still be running once this returns. */
	synchronize_net();
#endif
}

/* Registers every point in every namespace, counting into *count. */
static void stp_netfilters_register(struct stp_netfilter *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	if (n == 0)
		return;
#ifdef CONFIG_NETFILTER
	stp_nf_points = ps;
	stp_nf_npoints = n;
	for (i = 0; i < n; i++)
		ps[i].init_rc = -ENOENT;
	rc = register_pernet_subsys(&stp_nf_pernet);
	if (rc == 0)
		stp_nf_pernet_registered = true;
	for (i = 0; i < n; i++)
		stp_reg_count_note(count, ps[i].probe, ps[i].optional, rc ? rc : ps[i].init_rc);
#else
	for (i = 0; i < n; i++)
		stp_reg_count_note(count, ps[i].probe, ps[i].optional, -ENOSYS);
#endif
}

/* The netfilter family: a generated module lists its table with it. */
STP_FAMILY(netfilter, struct stp_netfilter, stp_netfilters_register, stp_netfilters_unregister);

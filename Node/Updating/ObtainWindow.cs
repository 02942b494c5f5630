using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The first half of a pass (<see cref="PatchPipeline.PrepareAsync"/>: policy, lookup, the bytes into the store) for
/// several patches at once, while the pass verifies and applies them one at a time in list order
/// (<see cref="WaitAsync"/>). The rules a worker takes its next patch by:
/// <list type="number">
/// <item>Never further than <see cref="Lookahead"/> patches past the one the pass applies next, so obtaining never
/// runs far ahead of applying (a deadline still finds most obtained patches applied; the cache's cap and the internet
/// budget go to the patches next in line), and the one the pass waits for is always in reach.</item>
/// <item>A random one of the patches in reach, so the PCs of a LAN that run the same list do not all ask for the same
/// patch at the same moment: each downloads or fetches something the others lack and serves it sooner. (Taking the
/// next one in list order first had all PCs stream each patch through the server at once: the 20-PC fleet took 32.6 s
/// against 22.0 s.) One that another node is downloading is set aside once, while other fresh ones are in reach, and
/// taken again, lowest first, when none is left.</item>
/// <item>Never two of the same SHA-256 at once: the second then finds the first's bytes in the store.</item>
/// <item>None while <see cref="MaxPushing"/> downloads of this pass are still being pushed to the server
/// (<see cref="PatchPipeline.Obtained.Pushed"/>): a worker goes on once its download is stored, but each push holds a
/// claim, a connection and an in-use mark in the store, so their number stays bounded.</item>
/// </list>
/// With one worker, patches go in list order and nothing is set aside: one at a time, as before.
/// </summary>
internal sealed class ObtainWindow : IAsyncDisposable
{
    private readonly PatchPipeline _pipeline;
    private readonly IReadOnlyList<PatchSpec> _patches;
    private readonly IRandomSource _random;
    private readonly ProgressBoard _board;
    private readonly string _passId;
    private readonly TaskCompletionSource<PatchPipeline.Prepared>[] _results;
    private readonly PatchProgress[] _progress;
    private readonly State[] _state;
    private readonly HashSet<string> _busyHashes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _workers;
    private readonly int _workerCount;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _next;
    private int _open;
    private readonly List<Task> _pushes = [];
    private int _pushing;

    /// <param name="concurrency">Patches obtained at the same time (at least 1).</param>
    /// <param name="ct">Ends every worker (the pass's deadline or its caller); disposing ends them too.</param>
    public ObtainWindow(PatchPipeline pipeline, IReadOnlyList<PatchSpec> patches, int concurrency, IRandomSource random, ProgressBoard board, string passId, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        (_pipeline, _patches, _random, _board, _passId) = (pipeline, patches, random, board, passId);
        _results = [.. patches.Select(_ => new TaskCompletionSource<PatchPipeline.Prepared>(TaskCreationOptions.RunContinuationsAsynchronously))];
        _progress = [.. patches.Select(_ => new PatchProgress())];
        _state = new State[patches.Count];
        _open = patches.Count;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _workerCount = Math.Min(concurrency, patches.Count);
        Lookahead = 4 * concurrency;
        MaxPushing = Math.Max(2, concurrency);
        _workers = [.. Enumerable.Range(0, _workerCount).Select(_ => Task.Run(WorkAsync))];
    }

    private enum State
    {
        Fresh,
        Running,
        SetAside,
        Done,
    }

    /// <summary>How many patches past the next one to apply a worker may start (four times the concurrency).</summary>
    public int Lookahead { get; }

    /// <summary>Most pushes of this pass's downloads still going on while workers start new patches (the concurrency, at least 2).</summary>
    public int MaxPushing { get; }

    /// <summary>The progress of the <paramref name="index"/>th patch while it is being obtained (the pass follows it while it waits).</summary>
    public PatchProgress ProgressOf(int index) => _progress[index];

    /// <summary>
    /// The <paramref name="index"/>th patch (list order), once obtained, done or failed; its exception, if preparing it
    /// threw. Also tells the workers that the pass has reached it (patches before it are behind the pass).
    /// </summary>
    public Task<PatchPipeline.Prepared> WaitAsync(int index, CancellationToken ct)
    {
        lock (_lock)
        {
            if (index > _next)
            {
                _next = index;
                Changed();
            }
        }

        return _results[index].Task.WaitAsync(ct);
    }

    /// <summary>Stops the workers and waits for them; patches not yet obtained are left (their bytes, if any, stay in the store).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        lock (_lock)
        {
            Changed();
        }

        try
        {
            await Task.WhenAll(_workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the workers were stopped: expected
        }

        foreach (var result in _results)
        {
            result.TrySetCanceled(_stop.Token); // nobody waits for these any more
        }

        _stop.Dispose();
    }

    private async Task WorkAsync()
    {
        var ct = _stop.Token;
        while (true)
        {
            int index;
            bool setAside;
            Task changed;
            lock (_lock)
            {
                if (_open == 0)
                {
                    return;
                }

                (index, setAside) = Pick();
                changed = _changed.Task;
                if (index >= 0)
                {
                    _state[index] = State.Running;
                    _busyHashes.Add(_patches[index].Sha256);
                }
            }

            if (index < 0)
            {
                await changed.WaitAsync(ct).ConfigureAwait(false); // nothing in reach now: wait for the pass or another worker
                continue;
            }

            PatchPipeline.Prepared? prepared = null;
            try
            {
                using (_board.Track(ProgressBoard.Pass, _passId, _progress[index]))
                {
                    prepared = await _pipeline.PrepareAsync(_patches[index], _progress[index], setAside, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _results[index].TrySetCanceled(ct);
                throw;
            }
            catch (Exception e)
            {
                _results[index].TrySetException(e); // the pass reports it as that patch's failure
            }

            lock (_lock)
            {
                _busyHashes.Remove(_patches[index].Sha256);
                if (prepared is { SetAside: true })
                {
                    _state[index] = State.SetAside;
                }
                else
                {
                    _state[index] = State.Done;
                    _open--;
                    if (prepared is not null)
                    {
                        if (prepared.Obtained is { Pushed.IsCompleted: false } pushing)
                        {
                            _pushing++;
                            _pushes.Add(PushEndedAsync(pushing.Pushed));
                        }

                        _results[index].TrySetResult(prepared);
                    }
                }

                Changed();
            }
        }
    }

    /// <summary>
    /// The pushes of this pass's downloads still going on (<see cref="PatchPipeline.Obtained.Pushed"/>): their count,
    /// and a task that ends when every one started so far has ended (they never fault; disposing the window cancels them).
    /// </summary>
    public (int Count, Task AllDone) Pushes()
    {
        lock (_lock)
        {
            return (_pushing, Task.WhenAll(_pushes));
        }
    }

    /// <summary>Counts a push out when it ends (it never faults) and wakes the workers it held back.</summary>
    private async Task PushEndedAsync(Task pushed)
    {
        await pushed.ConfigureAwait(false);
        lock (_lock)
        {
            _pushing--;
            Changed();
        }
    }

    /// <summary>The next patch to start and whether it may be set aside, or -1 when none is in reach now (under the lock).</summary>
    private (int Index, bool SetAside) Pick()
    {
        if (_pushing >= MaxPushing)
        {
            return (-1, false); // enough downloads still on their way to the server: wait for one to land
        }

        var end = Math.Min(_patches.Count, _next + 1 + Lookahead);
        int head = -1, firstSetAside = -1, fresh = 0;
        for (var i = _next; i < end; i++)
        {
            if (_state[i] is State.Running or State.Done || _busyHashes.Contains(_patches[i].Sha256))
            {
                continue;
            }

            head = head < 0 ? i : head;
            if (_state[i] == State.SetAside)
            {
                firstSetAside = firstSetAside < 0 ? i : firstSetAside;
            }
            else
            {
                fresh++;
            }
        }

        if (head < 0)
        {
            return (-1, false);
        }

        if (_workerCount == 1)
        {
            return (head, false); // alone: list order, nothing set aside
        }

        if (fresh == 0)
        {
            return (firstSetAside, false); // only set-aside ones left in reach: asked again, waited for this time
        }

        // A random fresh one in reach; it may be set aside while other fresh ones remain.
        var pick = Math.Min(fresh - 1, (int)(_random.NextDouble() * fresh));
        for (var i = _next; i < end; i++)
        {
            if (_state[i] == State.Fresh && !_busyHashes.Contains(_patches[i].Sha256) && pick-- == 0)
            {
                return (i, fresh > 1);
            }
        }

        return (-1, false); // not reached: fresh counts exactly these
    }

    /// <summary>Wakes every waiting worker (under the lock).</summary>
    private void Changed()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }
}

using System;

namespace GitHub.Copilot
{
    /// <summary>libcopilot status codes (copilot_status).</summary>
    public enum CopilotStatus
    {
        Ok = 0,
        InvalidArgument = -1,
        InvalidJson = -2,
        CliNotFound = -3,
        Connection = -4,
        Disconnected = -5,
        Rpc = -6,
        Timeout = -7,
        ProtocolVersion = -8,
        Session = -9,
        WrongThread = -10,
        InvalidState = -11,
        Panic = -12,
        Internal = -13,
        /// <summary>A turn produced no event within WaitOptions.FirstEventTimeout.</summary>
        NoFirstEvent = -14,
        /// <summary>A turn went silent for longer than WaitOptions.MaxSilence.</summary>
        Stalled = -15,
    }

    /// <summary>Where a client is in its life.</summary>
    public enum ClientState
    {
        Disconnected = 0,
        Connecting = 1,
        Connected = 2,
        /// <summary>The connection broke and no restart is under way (or restarts failed).</summary>
        Error = 3,
        /// <summary>The CLI died unexpectedly and is being respawned.</summary>
        Restarting = 4,
    }

    /// <summary>A failed libcopilot call: its status and, for JSON-RPC errors, the code and data.</summary>
    public class CopilotException : Exception
    {
        public CopilotStatus Status { get; private set; }

        /// <summary>The JSON-RPC error code when Status is Rpc.</summary>
        public long? RpcCode { get; private set; }

        /// <summary>The JSON-RPC error data (JSON text), when the CLI sent any.</summary>
        public string RpcData { get; private set; }

        public CopilotException(CopilotStatus status, string message, long? rpcCode = null, string rpcData = null)
            : base(message)
        {
            Status = status;
            RpcCode = rpcCode;
            RpcData = rpcData;
        }
    }
}

// The one error the codec throws on bad input bytes. It is a KafkaError so a broker can log it and
// close the connection (Kafka's answer to a malformed request) or answer with its code.
import { ErrorCode, KafkaError } from '../kafka-errors.ts';

export class ProtocolError extends KafkaError {
  override name = 'ProtocolError';

  constructor(message: string, code: ErrorCode = ErrorCode.INVALID_REQUEST) {
    super(code, message);
  }
}

package winevent

// Fields is a set of the Event fields a reader fills. The
// correlation asks first for the few fields that decide whether an event can
// take part in a join (an outbound connection, a logon of another type), so
// that only a few fields of the common events are read.
type Fields uint64

// The event data fields, under their Windows names (contextField).
const (
	FieldUtcTime Fields = 1 << iota
	FieldProcessGUID
	FieldProcessID
	FieldImage
	FieldParentProcessGUID
	FieldParentProcessID
	FieldParentImage
	FieldCommandLine
	FieldParentCommandLine
	FieldOriginalFileName
	FieldUser
	FieldLogonID
	FieldProtocol
	FieldInitiated
	FieldSourceIP
	FieldSourceHostname
	FieldSourcePort
	FieldDestinationIP
	FieldDestinationHostname
	FieldDestinationPort
	FieldNewProcessID
	FieldNewProcessName
	FieldParentProcessName
	FieldProcessName
	FieldSubjectUserName
	FieldSubjectDomainName
	FieldSubjectLogonID
	FieldTargetUserName
	FieldTargetDomainName
	FieldTargetLogonID
	FieldLogonType
	FieldLogonProcessName
	FieldAuthenticationPackageName
	FieldWorkstationName
	FieldIPAddress
	FieldIPPort
	FieldScriptBlockText
	FieldScriptBlockID
	FieldMessageNumber
	FieldMessageTotal
	FieldPath
	FieldPayload
	FieldContextInfo
	FieldHashes
	FieldCurrentDirectory
	FieldIntegrityLevel
	FieldDescription
	FieldProduct
	FieldCompany
	FieldFileVersion
	FieldLogonGUID
	FieldTerminalSessionID
	FieldParentUser
	FieldMandatoryLabel
	FieldTokenElevationType

	// System fields. The event id, channel, provider and computer are
	// always read: every use of an event needs them.
	FieldSystemTime
	FieldRecordID
	FieldUserID // System/Security/@UserID: the SID the event was logged under

	// EventDataFields are the fields under EventData.
	EventDataFields = FieldSystemTime - 1
	// AllFields is every field a reader fills.
	AllFields = FieldUserID<<1 - 1
)

// fieldOf is the field a Windows name fills, 0 for a name no reader keeps.
func fieldOf(name string) Fields {
	var e Event
	f, _ := e.field(name)
	return f
}

// field returns the field a Windows name fills and where it is stored (0
// and nil for a name no reader keeps): one switch per name, as a walk
// looks up every name of an event.
func (e *Event) field(name string) (Fields, *string) {
	switch name {
	case "UtcTime":
		return FieldUtcTime, &e.UtcTime
	case "ProcessGuid":
		return FieldProcessGUID, &e.ProcessGUID
	case "ProcessId":
		return FieldProcessID, &e.ProcessID
	case "Image":
		return FieldImage, &e.Image
	case "ParentProcessGuid":
		return FieldParentProcessGUID, &e.ParentProcessGUID
	case "ParentProcessId":
		return FieldParentProcessID, &e.ParentProcessID
	case "ParentImage":
		return FieldParentImage, &e.ParentImage
	case "CommandLine":
		return FieldCommandLine, &e.CommandLine
	case "ParentCommandLine":
		return FieldParentCommandLine, &e.ParentCommandLine
	case "OriginalFileName":
		return FieldOriginalFileName, &e.OriginalFileName
	case "User":
		return FieldUser, &e.User
	case "LogonId":
		return FieldLogonID, &e.LogonID
	case "Protocol":
		return FieldProtocol, &e.Protocol
	case "Initiated":
		return FieldInitiated, &e.Initiated
	case "SourceIp":
		return FieldSourceIP, &e.SourceIP
	case "SourceHostname":
		return FieldSourceHostname, &e.SourceHostname
	case "SourcePort":
		return FieldSourcePort, &e.SourcePort
	case "DestinationIp":
		return FieldDestinationIP, &e.DestinationIP
	case "DestinationHostname":
		return FieldDestinationHostname, &e.DestinationHostname
	case "DestinationPort":
		return FieldDestinationPort, &e.DestinationPort
	case "NewProcessId":
		return FieldNewProcessID, &e.NewProcessID
	case "NewProcessName":
		return FieldNewProcessName, &e.NewProcessName
	case "ParentProcessName":
		return FieldParentProcessName, &e.ParentProcessName
	case "ProcessName":
		return FieldProcessName, &e.ProcessName
	case "SubjectUserName":
		return FieldSubjectUserName, &e.SubjectUserName
	case "SubjectDomainName":
		return FieldSubjectDomainName, &e.SubjectDomainName
	case "SubjectLogonId":
		return FieldSubjectLogonID, &e.SubjectLogonID
	case "TargetUserName":
		return FieldTargetUserName, &e.TargetUserName
	case "TargetDomainName":
		return FieldTargetDomainName, &e.TargetDomainName
	case "TargetLogonId":
		return FieldTargetLogonID, &e.TargetLogonID
	case "LogonType":
		return FieldLogonType, &e.LogonType
	case "LogonProcessName":
		return FieldLogonProcessName, &e.LogonProcessName
	case "AuthenticationPackageName":
		return FieldAuthenticationPackageName, &e.AuthenticationPackageName
	case "WorkstationName":
		return FieldWorkstationName, &e.WorkstationName
	case "IpAddress":
		return FieldIPAddress, &e.IPAddress
	case "IpPort":
		return FieldIPPort, &e.IPPort
	case "ScriptBlockText":
		return FieldScriptBlockText, &e.ScriptBlockText
	case "ScriptBlockId":
		return FieldScriptBlockID, &e.ScriptBlockID
	case "MessageNumber":
		return FieldMessageNumber, &e.MessageNumber
	case "MessageTotal":
		return FieldMessageTotal, &e.MessageTotal
	case "Path":
		return FieldPath, &e.Path
	case "Payload":
		return FieldPayload, &e.Payload
	case "ContextInfo":
		return FieldContextInfo, &e.ContextInfo
	case "Hashes":
		return FieldHashes, &e.Hashes
	case "CurrentDirectory":
		return FieldCurrentDirectory, &e.CurrentDirectory
	case "IntegrityLevel":
		return FieldIntegrityLevel, &e.IntegrityLevel
	case "Description":
		return FieldDescription, &e.Description
	case "Product":
		return FieldProduct, &e.Product
	case "Company":
		return FieldCompany, &e.Company
	case "FileVersion":
		return FieldFileVersion, &e.FileVersion
	case "LogonGuid":
		return FieldLogonGUID, &e.LogonGUID
	case "TerminalSessionId":
		return FieldTerminalSessionID, &e.TerminalSessionID
	case "ParentUser":
		return FieldParentUser, &e.ParentUser
	case "MandatoryLabel":
		return FieldMandatoryLabel, &e.MandatoryLabel
	case "TokenElevationType":
		return FieldTokenElevationType, &e.TokenElevationType
	}
	return 0, nil
}

// slot is where an event data field is stored.
func (e *Event) slot(f Fields) *string {
	switch f {
	case FieldUtcTime:
		return &e.UtcTime
	case FieldProcessGUID:
		return &e.ProcessGUID
	case FieldProcessID:
		return &e.ProcessID
	case FieldImage:
		return &e.Image
	case FieldParentProcessGUID:
		return &e.ParentProcessGUID
	case FieldParentProcessID:
		return &e.ParentProcessID
	case FieldParentImage:
		return &e.ParentImage
	case FieldCommandLine:
		return &e.CommandLine
	case FieldParentCommandLine:
		return &e.ParentCommandLine
	case FieldOriginalFileName:
		return &e.OriginalFileName
	case FieldUser:
		return &e.User
	case FieldLogonID:
		return &e.LogonID
	case FieldProtocol:
		return &e.Protocol
	case FieldInitiated:
		return &e.Initiated
	case FieldSourceIP:
		return &e.SourceIP
	case FieldSourceHostname:
		return &e.SourceHostname
	case FieldSourcePort:
		return &e.SourcePort
	case FieldDestinationIP:
		return &e.DestinationIP
	case FieldDestinationHostname:
		return &e.DestinationHostname
	case FieldDestinationPort:
		return &e.DestinationPort
	case FieldNewProcessID:
		return &e.NewProcessID
	case FieldNewProcessName:
		return &e.NewProcessName
	case FieldParentProcessName:
		return &e.ParentProcessName
	case FieldProcessName:
		return &e.ProcessName
	case FieldSubjectUserName:
		return &e.SubjectUserName
	case FieldSubjectDomainName:
		return &e.SubjectDomainName
	case FieldSubjectLogonID:
		return &e.SubjectLogonID
	case FieldTargetUserName:
		return &e.TargetUserName
	case FieldTargetDomainName:
		return &e.TargetDomainName
	case FieldTargetLogonID:
		return &e.TargetLogonID
	case FieldLogonType:
		return &e.LogonType
	case FieldLogonProcessName:
		return &e.LogonProcessName
	case FieldAuthenticationPackageName:
		return &e.AuthenticationPackageName
	case FieldWorkstationName:
		return &e.WorkstationName
	case FieldIPAddress:
		return &e.IPAddress
	case FieldIPPort:
		return &e.IPPort
	case FieldScriptBlockText:
		return &e.ScriptBlockText
	case FieldScriptBlockID:
		return &e.ScriptBlockID
	case FieldMessageNumber:
		return &e.MessageNumber
	case FieldMessageTotal:
		return &e.MessageTotal
	case FieldPath:
		return &e.Path
	case FieldPayload:
		return &e.Payload
	case FieldContextInfo:
		return &e.ContextInfo
	case FieldHashes:
		return &e.Hashes
	case FieldCurrentDirectory:
		return &e.CurrentDirectory
	case FieldIntegrityLevel:
		return &e.IntegrityLevel
	case FieldDescription:
		return &e.Description
	case FieldProduct:
		return &e.Product
	case FieldCompany:
		return &e.Company
	case FieldFileVersion:
		return &e.FileVersion
	case FieldLogonGUID:
		return &e.LogonGUID
	case FieldTerminalSessionID:
		return &e.TerminalSessionID
	case FieldParentUser:
		return &e.ParentUser
	case FieldMandatoryLabel:
		return &e.MandatoryLabel
	case FieldTokenElevationType:
		return &e.TokenElevationType
	}
	return nil
}

// setField stores a named Windows field if it is wanted and returns the
// field it filled (0 when it filled none). Readers pass only the fields not
// yet filled: the first of repeated names counts, as for a lookup by name,
// so a read that stops once it has what it wants agrees with a full one.
func (e *Event) setField(name, value string, want Fields) Fields {
	f := fieldOf(name) & want
	if f == 0 {
		return 0
	}
	*e.slot(f) = value
	return f
}
